// Gates as a JUnit XML report, the format GitHub test reporters and GitLab's
// `artifacts:reports:junit` read: one <testsuite> per gated stage, one <testcase> per gate,
// a <failure> carrying the value, the target and the metrics file it was read from.
import type { GateResult } from '../../engine/gates.ts';
import { lineCol } from '../../engine/diagnostic.ts';
import type { Pipeline } from '../../engine/pipeline-config.ts';
import { formatNumber } from '../../engine/table.ts';
import { relativeTo } from './paths.ts';

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

/** One sentence per gate: what was measured against what, and where the number came from. */
export function describeGate(r: GateResult, metricsFile: string | undefined): string {
  const value = r.value === undefined ? 'no value' : formatNumber(r.value);
  const from = metricsFile ? ` in ${metricsFile}` : '';
  const note = r.note ? ` (${r.note})` : '';
  return `${r.metric} = ${value}, target ${r.target}${from}${note}`;
}

/**
 * The JUnit document. `cwd` is where the reader runs (the repository root in CI): the
 * `file` attributes are relative to it, so reporters can link to pipeline.yaml.
 */
export function formatGatesJunit(results: GateResult[], pipeline: Pipeline, cwd: string): string {
  const file = relativeTo(cwd, pipeline.file);
  const stages = [...new Set(results.map((r) => r.stage))];
  const count = (rs: GateResult[]) => ({
    tests: rs.length,
    failures: rs.filter((r) => r.status === 'fail').length,
    errors: 0,
    // Any verdict other than pass or fail (skipped, not applicable) is a skipped test.
    skipped: rs.filter((r) => r.status !== 'pass' && r.status !== 'fail').length,
  });
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name: 'pipeline gates', ...count(results), time: 0 })}>`];
  for (const stageName of stages) {
    const stage = pipeline.stages.find((s) => s.name === stageName);
    const metricsFile = stage?.metrics?.path;
    const gates = results.filter((r) => r.stage === stageName);
    lines.push(`  <testsuite${attrs({ name: stageName, ...count(gates), time: 0, file })}>`);
    for (const r of gates) {
      const decl = stage?.gates.find((g) => g.metric === r.metric);
      const line = decl ? lineCol(decl.location.source, decl.location.start).line : undefined;
      const head = `    <testcase${attrs({ name: `${r.metric} ${r.target}`, classname: `gates.${stageName}`, file, ...(line ? { line } : {}), time: 0 })}`;
      const text = xmlEscape(describeGate(r, metricsFile));
      if (r.status === 'pass') {
        lines.push(`${head}>`, `      <system-out>${text}</system-out>`, '    </testcase>');
      } else if (r.status === 'fail') {
        const message = `${r.metric} = ${r.value === undefined ? 'no value' : formatNumber(r.value)}, target ${r.target}`;
        lines.push(`${head}>`, `      <failure${attrs({ message, type: 'gate' })}>${text}</failure>`, '    </testcase>');
      } else {
        lines.push(`${head}>`, `      <skipped${attrs({ message: `${r.status}${r.note ? `: ${r.note}` : ''}` })}/>`, '    </testcase>');
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
