// What `run` and `gates` add when they run in CI: on GitHub Actions an `::error` annotation
// per failed gate (pointing at the gate's line in pipeline.yaml) and the gate table appended
// to the job summary; on GitLab CI the JUnit report at GITLAB_JUNIT_PATH for
// `artifacts:reports:junit`. Outside CI, or with `--ci none`, nothing changes.
import { join } from 'node:path';
import { lineCol } from '../engine/diagnostic.ts';
import type { Output } from '../engine/console-reporter.ts';
import type { GateResult } from '../engine/gates.ts';
import type { Pipeline } from '../engine/pipeline-config.ts';
import { atomicWrite } from '../engine/atomic-write.ts';
import { appendFileSync } from 'node:fs';
import { describeGate, formatGatesJunit } from './formats/gates-junit.ts';
import { gatesMarkdown } from './formats/markdown.ts';
import { relativeTo } from './formats/paths.ts';

export const CI_CHOICES = ['auto', 'github', 'gitlab', 'none'] as const;
export type CiChoice = (typeof CI_CHOICES)[number];
export type CiKind = Exclude<CiChoice, 'auto'>;

/** Where the JUnit report goes on GitLab CI, relative to the project root (docs/ci.md). */
export const GITLAB_JUNIT_PATH = '.pipeline/reports/gates-junit.xml';

/** `--ci auto` reads the variables the CI services set; any other choice is taken as given. */
export function detectCi(choice: CiChoice, env: NodeJS.ProcessEnv): CiKind {
  if (choice !== 'auto') return choice;
  if (env['GITHUB_ACTIONS'] === 'true') return 'github';
  if (env['GITLAB_CI'] === 'true') return 'gitlab';
  return 'none';
}

// GitHub's workflow-command escaping: data escapes % CR LF; properties also : and ,.
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::error` line per failed gate, at the line where the gate is written. */
export function githubAnnotations(results: GateResult[], pipeline: Pipeline, cwd: string): string[] {
  const file = relativeTo(cwd, pipeline.file);
  return results
    .filter((r) => r.status === 'fail')
    .map((r) => {
      const stage = pipeline.stages.find((s) => s.name === r.stage);
      const decl = stage?.gates.find((g) => g.metric === r.metric);
      const place = decl ? lineCol(decl.location.source, decl.location.start) : undefined;
      const props = [`file=${escapeProperty(file)}`, ...(place ? [`line=${place.line}`, `col=${place.col}`] : []), `title=${escapeProperty(`gate ${r.stage}.${r.metric} failed`)}`];
      return `::error ${props.join(',')}::${escapeData(describeGate(r, stage?.metrics?.path))}`;
    });
}

export interface CiContext {
  choice: CiChoice;
  env: NodeJS.ProcessEnv;
  /** The job's working folder: file paths in annotations and JUnit are relative to it. */
  cwd: string;
}

/** Publishes gate results where the detected CI service shows them. */
export function publishGates(results: GateResult[], pipeline: Pipeline, ci: CiContext, output: Output): void {
  const kind = detectCi(ci.choice, ci.env);
  switch (kind) {
    case 'none':
      return;
    case 'github': {
      // GitHub matches annotation paths against the repository checkout, not the step's folder.
      const workspace = ci.env['GITHUB_WORKSPACE'] || ci.cwd;
      for (const line of githubAnnotations(results, pipeline, workspace)) output.out(`${line}\n`);
      const summary = ci.env['GITHUB_STEP_SUMMARY'];
      if (summary) appendFileSync(summary, `${gatesMarkdown(results)}\n`);
      return;
    }
    case 'gitlab': {
      const file = join(pipeline.root, GITLAB_JUNIT_PATH);
      atomicWrite(file, formatGatesJunit(results, pipeline, ci.cwd));
      output.err(`gates: JUnit report written to ${relativeTo(ci.cwd, file)}\n`);
      return;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown CI ${String(never)}`);
    }
  }
}
