// Commands other parts of the project add: src/cli/commands/<name>.ts, found by file name,
// each exporting `summary` and `run(argv)`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const COMMANDS_DIR = new URL('./commands/', import.meta.url);

interface ExternalCommand {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export function externalCommandNames(): string[] {
  const dir = fileURLToPath(COMMANDS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

export async function loadExternalCommand(name: string): Promise<ExternalCommand | undefined> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !externalCommandNames().includes(name)) return undefined;
  const mod = (await import(new URL(`${name}.ts`, COMMANDS_DIR).href)) as Partial<ExternalCommand>;
  if (typeof mod.run !== 'function') throw new Error(`src/cli/commands/${name}.ts does not export run(argv)`);
  return { summary: String(mod.summary ?? ''), run: mod.run };
}

/**
 * `name  summary` lines. The summary is read from the source text when it is a plain
 * string literal, so `--help` does not load every command's (possibly heavy) imports.
 */
export async function externalCommandHelp(): Promise<string[]> {
  const lines: string[] = [];
  for (const name of externalCommandNames()) {
    const text = readFileSync(new URL(`${name}.ts`, COMMANDS_DIR), 'utf8');
    const literal = /export\s+const\s+summary(?:\s*:\s*string)?\s*=\s*(['"`])((?:(?!\1)[^\\]|\\.)*)\1/.exec(text);
    if (literal) {
      lines.push(`  ${name.padEnd(12)} ${literal[2]}`);
      continue;
    }
    try {
      const cmd = await loadExternalCommand(name);
      lines.push(`  ${name.padEnd(12)} ${cmd?.summary ?? ""}`);
    } catch (err) {
      lines.push(`  ${name.padEnd(12)} (cannot load: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  return lines;
}
