// Turns run events into terminal output: stage-prefixed streams, one line per outcome,
// hashing progress, and the closing summary table.
import { relative } from 'node:path';
import { describeFailure, type RunEvent, type StageResult } from './event.ts';
import { formatGateTable } from './gates.ts';
import { describeReason } from './staleness.ts';
import { formatTable } from './table.ts';

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

export const processOutput: Output = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY: process.stdout.isTTY === true,
};

/** A handler for RunEvents writing to `output`; `logsDir` is shown in failure hints. */
export function consoleReporter(output: Output, root: string, logsDir: string): (e: RunEvent) => void {
  let lastProgress = 0;
  let transferStart = 0;
  let lastTransfer = 0;
  return (e) => {
    switch (e.type) {
      case 'recovered':
        if (e.stopped.length > 0) output.err(`stopped ${e.stopped.join(', ')}: still running from a run that was killed\n`);
        output.err(`recovered the previous outs of ${e.stages.join(', ')} (left aside by an interrupted run)\n`);
        break;
      case 'stage-start':
        output.out(`> ${e.stage}: running (${describeReason(e.reason)})\n`);
        break;
      case 'stage-restored':
        output.out(`< ${e.stage}: restored from cache ${e.source} (${describeReason(e.reason)})\n`);
        break;
      case 'transfer': {
        // Only a transfer that lasts gets a progress line (every 2 s; a TTY redraws one line).
        const now = Date.now();
        if (e.done === 1) transferStart = lastTransfer = now;
        if (now - transferStart < 2000 || (now - lastTransfer < 2000 && e.done !== e.total)) break;
        lastTransfer = now;
        const line = `${e.verb} ${e.done}/${e.total} files, ${(e.bytes / 1e6).toFixed(1)} MB`;
        if (output.isTTY) output.err(`\r${line}${e.done === e.total ? '\n' : ''}`);
        else output.err(`${line}\n`);
        break;
      }
      case 'stage-fresh':
        output.out(`- ${e.stage}: fresh, skipped\n`);
        break;
      case 'stage-output':
        (e.stream === 'stdout' ? output.out : output.err)(e.text);
        break;
      case 'stage-done':
        if (e.result.kind === 'ran') output.out(`+ ${e.result.stage}: done in ${seconds(e.result.durationMs)}\n`);
        if (e.result.kind === 'failed' && e.result.failure) {
          const log = relative(root, `${logsDir}/${e.result.stage}.log`);
          output.err(`x ${e.result.stage}: FAILED, ${describeFailure(e.result.failure)} (log: ${log})\n`);
        }
        break;
      case 'gates': {
        const failed = e.results.some((r) => r.status === 'fail');
        output.out(`${failed ? 'x' : '+'} gates of ${e.stage}: ${failed ? 'FAILED' : 'passed'}\n${formatGateTable(e.results)}\n`);
        break;
      }
      case 'gates-ignored':
        output.err(`! ${e.stage}: RUNNING BELOW FAILED GATES (--ignore-gates; recorded in pipeline.lock): ${describeMissed(e.missed)}\n`);
        break;
      case 'hashing': {
        if (e.total < 2000) break;
        const now = Date.now();
        const end = e.done === e.total && !e.listing;
        const line = `hashing ${e.done}/${e.total}${e.listing ? '+' : ''} files`; // +: more are still being listed
        if (output.isTTY) {
          output.err(`\r${line}${end ? '\n' : ''}`);
        } else if (now - lastProgress > 3000 || end) {
          lastProgress = now;
          output.err(`${line}\n`);
        }
        break;
      }
      case 'warning':
        output.err(`warning: ${e.message}\n`);
        break;
      default: {
        const never: never = e;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };
}

/** "evaluate part_top1 0.22 (>= 0.90), ..." */
export function describeMissed(missed: readonly { stage: string; metric: string; target: string; value?: number | null }[]): string {
  return missed.map((g) => `${g.stage} ${g.metric} ${g.value === undefined || g.value === null ? '-' : Number(g.value.toPrecision(6))} (${g.target})`).join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

const KIND_LABEL: Record<StageResult['kind'], string> = {
  ran: 'ran',
  restored: 'restored from cache',
  fresh: 'skipped (fresh)',
  failed: 'FAILED',
  'not-run': 'not run',
};

export function formatSummary(results: StageResult[]): string {
  return formatTable(
    ['stage', 'status', 'duration'],
    results.map((r) => [r.stage, r.kind === 'restored' ? `${KIND_LABEL[r.kind]} ${r.source}` : KIND_LABEL[r.kind], r.kind === 'ran' || r.kind === 'restored' || r.kind === 'failed' ? seconds(r.durationMs) : '-']),
  );
}
