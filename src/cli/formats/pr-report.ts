// `pipeline report --base REV`: what changed since REV, as one markdown document for a pull
// request comment — the verdict, the stages rebuilt since REV and why, the gate table, the
// metrics diff and the gated stages' images. Nothing in it depends on the clock or on
// commit hashes, so two runs on the same tree give the same text.
import type { GateResult } from '../../engine/gates.ts';
import type { LockData } from '../../engine/lock-file.ts';
import type { MetricsDiff } from '../../engine/metrics.ts';
import type { StageDecl } from '../../engine/pipeline-config.ts';
import { decideFreshness, describeReason, type StaleReason } from '../../engine/staleness.ts';
import { gateCounts, gatesMarkdown, imagesMarkdown, joinMarkdown, markdownTable, metricsDiffMarkdown } from './markdown.ts';

export interface Rebuilt {
  stage: string;
  /** The first difference between the lock at the base and the lock now; undefined: new. */
  reason: StaleReason | undefined;
}

/**
 * Stages whose lock entry differs from the one at the base revision: they were rebuilt
 * since. The staleness module decides, with the base entry as "previous" and today's
 * entry as "now", so the reasons read as `status` would have given them.
 */
export function rebuiltSince(stages: StageDecl[], base: LockData | undefined, now: LockData): Rebuilt[] {
  const out: Rebuilt[] = [];
  for (const stage of stages) {
    const current = now.stages[stage.name];
    if (!current) continue;
    const previous = base?.stages[stage.name];
    if (!previous) {
      out.push({ stage: stage.name, reason: undefined });
      continue;
    }
    const { outs, metrics: _metrics, ...inputs } = current;
    const freshness = decideFreshness(previous, inputs, outs);
    if (!freshness.fresh) out.push({ stage: stage.name, reason: freshness.reason });
  }
  return out;
}

function why(r: Rebuilt, rev: string): string {
  if (!r.reason) return `not in pipeline.lock at ${rev}`;
  // Between two locks an out that differs was rebuilt differently, not edited by hand.
  if (r.reason.kind === 'out-edited') return `out ${r.reason.path} differs`;
  return describeReason(r.reason);
}

export interface PrReportInput {
  rev: string;
  rebuilt: Rebuilt[];
  gates: GateResult[];
  diff: MetricsDiff;
  images: { stage: string; name: string; link: string }[];
}

export function prReportMarkdown(input: PrReportInput): string {
  const failed = input.gates.some((g) => g.status === 'fail');
  const verdict =
    input.gates.length === 0 ? 'No gates were checked.' : failed ? `❌ **Gates failed** (${gateCounts(input.gates)}).` : `✅ **Gates pass** (${gateCounts(input.gates)}).`;
  const rebuilt =
    input.rebuilt.length === 0
      ? `No stage was rebuilt since \`${input.rev}\`: pipeline.lock records the same inputs and outputs.`
      : markdownTable(['stage', 'why'], input.rebuilt.map((r) => [r.stage, why(r, input.rev)]));
  return joinMarkdown([
    `## Pipeline report vs \`${input.rev}\``,
    verdict,
    `### Stages rebuilt since \`${input.rev}\`\n\n${rebuilt}`,
    gatesMarkdown(input.gates),
    metricsDiffMarkdown(input.diff, input.gates),
    imagesMarkdown(input.images),
  ]);
}
