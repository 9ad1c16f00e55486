// A test rig: writes a throwaway project in a temp dir and runs the real `pipeline` CLI in
// it as a child process, capturing exit code, stdout and stderr. Other areas may reuse it.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where bin/pipeline.js lives). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PIPELINE_BIN = join(REPO_ROOT, 'bin/pipeline.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class TestProject {
  private constructor(readonly dir: string) {}

  /** A temp project; `files` maps project-relative paths to contents. ESM by default. */
  static create(files: Record<string, string> = {}): TestProject {
    const p = new TestProject(mkdtempSync(join(tmpdir(), 'brickflow-test-')));
    p.write('package.json', '{"type":"module"}\n');
    for (const [path, text] of Object.entries(files)) p.write(path, text);
    return p;
  }

  /**
   * A copy of this project in a new temp dir (lock, outs and state included), so tests can
   * share one expensive first run. The copy's stat cache misses (new inodes) but stays correct.
   */
  clone(): TestProject {
    const copy = new TestProject(mkdtempSync(join(tmpdir(), 'brickflow-test-')));
    cpSync(this.dir, copy.dir, { recursive: true });
    return copy;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  write(rel: string, text: string): void {
    mkdirSync(dirname(this.path(rel)), { recursive: true });
    writeFileSync(this.path(rel), text);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  remove(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** Starts `pipeline ARGS` in the project; the caller waits on or signals the process. */
  spawn(args: string[], env: Record<string, string> = {}): ChildProcess {
    return spawn(process.execPath, [PIPELINE_BIN, ...args], {
      cwd: this.dir,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Runs `pipeline ARGS` to completion. */
  cli(...args: string[]): Promise<CliResult> {
    return collect(this.spawn(args));
  }

  /** Runs `pipeline ARGS`, SIGKILLed after `timeoutMs` (code null): a hang fails the test, not the suite. */
  cliWithin(timeoutMs: number, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return collect(this.spawn(args, env), timeoutMs);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits for a spawned process, collecting its output; `timeoutMs` SIGKILLs it if still running then. */
export function collect(child: ChildProcess, timeoutMs?: number): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves once `predicate` holds, polling; rejects after `timeoutMs` (a hang guard, not a timing assertion). */
export async function waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The stages whose lines say they ran ("> name: running"). */
export function stagesRan(stdout: string): string[] {
  return [...stdout.matchAll(/^> ([\w.-]+): running/gm)].map((m) => m[1]!);
}

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs the whole process group of `pid` (a stage's shell and what it started). */
export function killProcessGroupOf(pid: number): void {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  process.kill(-pgid, 'SIGKILL');
}
