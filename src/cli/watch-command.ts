// `pipeline watch`: not built yet (issue 9).
import type { Output } from '../engine/console-reporter.ts';
import type { Project } from '../engine/project.ts';
import type { CliOptions } from './options.ts';

export async function watchCommand(_project: Project, _opts: CliOptions, output: Output): Promise<number> {
  output.err('error: pipeline watch is not implemented yet\n');
  return 2;
}
