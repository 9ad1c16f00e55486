import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { TestProject, waitFor } from '../helpers/project-rig.ts';

/** A running `pipeline watch` whose output the test reads as it comes. */
class WatchSession {
  stdout = '';
  stderr = '';
  private exit: Promise<number | null>;
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exit = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  static start(p: TestProject, ...args: string[]): WatchSession {
    return new WatchSession(p.spawn(['watch', ...args]));
  }

  /** Resolves when round `n` has finished. */
  async roundDone(n: number): Promise<void> {
    await waitFor(() => this.stdout.includes(`watch: round ${n} done`), 60_000);
  }

  rounds(): number {
    return [...this.stdout.matchAll(/^watch: round \d+ done/gm)].length;
  }

  /** The `[count] seen=...` lines the toy stage prints, one per run. */
  seen(): string[] {
    return [...this.stdout.matchAll(/^\[count\] seen=(.*)$/gm)].map((m) => m[1]!);
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exit;
  }
}

// `count` lists its input folder (and the first line count of each file); outs under out/.
const PIPELINE = `stages:
  count:
    cmd: "sh count.sh"
    deps: [inbox]
    outs: [out]
`;
const COUNT_SH = `mkdir -p out
if [ -f block-first-run ] && [ ! -f unblocked ]; then
  touch run-started
  while [ ! -f release ]; do sleep 0.05; done
  touch unblocked
fi
n=$(ls inbox | wc -l)
lines=$(cat inbox/* 2>/dev/null | wc -l)
echo "seen=$n files, $lines lines"
echo $n > out/count.txt
`;

describe('pipeline watch', () => {
  let p: TestProject;
  let w: WatchSession | undefined;
  afterEach(async () => {
    if (w) await w.stop();
    w = undefined;
    p.cleanup();
  });

  function project(extra: Record<string, string> = {}): TestProject {
    return TestProject.create({ 'pipeline.yaml': PIPELINE, 'count.sh': COUNT_SH, 'inbox/first.txt': 'a\n', ...extra });
  }

  it('a burst of 50 new files makes one run; writes to outputs make none; Ctrl-C stops cleanly', async () => {
    p = project();
    w = WatchSession.start(p, '--quiet-ms', '500');
    await w.roundDone(1);
    for (let i = 0; i < 50; i++) writeFileSync(p.path(`inbox/img_${i}.txt`), `${i}\n`);
    await w.roundDone(2);
    // The run's own writes to out/ (and ours) must not start a round; the next change does.
    writeFileSync(p.path('out/by-hand.txt'), 'x');
    writeFileSync(p.path('inbox/sentinel.txt'), 's\n');
    await w.roundDone(3);
    expect(w.seen()).toEqual(['1 files, 1 lines', '51 files, 51 lines', '52 files, 52 lines']);
    const code = await w.stop();
    w = undefined;
    expect(code).toBe(0);
    expect(p.exists('.pipeline/run.lock')).toBe(false);
  });

  it('a file written slowly is read only once it is complete', async () => {
    p = project();
    w = WatchSession.start(p, '--quiet-ms', '1500');
    await w.roundDone(1);
    const file = p.path('inbox/slow.txt');
    for (let i = 0; i < 8; i++) {
      appendFileSync(file, `line ${i}\n`);
      await new Promise((r) => setTimeout(r, 150));
    }
    await w.roundDone(2);
    expect(w.seen()[1]).toBe('2 files, 9 lines');
  });

  it('changes landing during a run cause exactly one rerun after it', async () => {
    p = project({ 'block-first-run': '' });
    w = WatchSession.start(p, '--quiet-ms', '300');
    await waitFor(() => p.exists('run-started'));
    for (let i = 0; i < 5; i++) writeFileSync(p.path(`inbox/during_${i}.txt`), `${i}\n`);
    await waitFor(() => w!.stdout.includes('one more round will follow'));
    await new Promise((r) => setTimeout(r, 800)); // let every event arrive while still running
    writeFileSync(p.path('release'), '');
    await w.roundDone(2);
    writeFileSync(p.path('inbox/sentinel.txt'), 's\n');
    await w.roundDone(3);
    // Round 1 lists the folder after its release, so it sees the new files too.
    expect(w.seen()).toEqual(['6 files, 6 lines', '6 files, 6 lines', '7 files, 7 lines']);
    expect(w.rounds()).toBe(3);
  });

  it('a bad input fails its round without stopping the watch; the screen shows the capture plan and gates', async () => {
    p = TestProject.create({
      'pipeline.yaml': `stages:
  check:
    cmd: "sh check.sh"
    deps: [inbox]
    outs: [artifacts/dataset]
    metrics: m.json
    gates: {good_files: ">= 2"}
`,
      'check.sh': `mkdir -p artifacts/dataset
if [ -f inbox/corrupt.jpg ]; then echo "inbox/corrupt.jpg: not an image" >&2; exit 1; fi
n=$(ls inbox | wc -l)
echo "part 3001: $n of 5 captured, $((5 - n)) to go" > artifacts/dataset/capture_plan.txt
echo "{\\"good_files\\": $n}" > m.json
`,
      'inbox/a.jpg': 'a',
    });
    w = WatchSession.start(p, '--quiet-ms', '300');
    await w.roundDone(1);
    expect(w.stdout).toContain('part 3001: 1 of 5 captured, 4 to go');
    expect(w.stdout).toMatch(/check\s+good_files\s+1\s+>= 2\s+FAIL/);
    expect(w.stdout.match(/check\s+good_files\s+1\s+>= 2\s+FAIL/g)).toHaveLength(1); // once per round, not twice
    writeFileSync(p.path('inbox/corrupt.jpg'), 'not a jpeg');
    await w.roundDone(2);
    expect(w.stderr).toContain('[check] inbox/corrupt.jpg: not an image');
    expect(w.stdout).toContain('watch: round 2 done (exit 1)');
    p.remove('inbox/corrupt.jpg');
    writeFileSync(p.path('inbox/b.jpg'), 'b');
    await w.roundDone(3);
    expect(w.stdout).toContain('part 3001: 2 of 5 captured, 3 to go');
    expect(w.stdout).toMatch(/check\s+good_files\s+2\s+>= 2\s+PASS/);
  });
});
