// The capture plan: per target part, the real captures that exist against those its priority tier asks for (angles x colors).
import type { CapturePlanConfig, ColorEntry } from './data-config.ts';
import { UNKNOWN_COLOR, type TargetPart } from './labels.ts';

/** A real capture as far as the plan cares: which part, which color. */
export interface Capture {
  partId: string;
  colorId: number;
}

export interface PartPlan {
  id: string;
  name: string;
  tier: string;
  angles: number;
  colors: number;
  needed: number;
  have: number;
  missing: number;
  /** The colors counted (most captured first), each up to `angles` images. */
  per_color: Array<{ id: number; name: string; have: number; needed: number }>;
  /** Captures whose color is unknown or not in the head: they help the part head only. */
  unknown_color: number;
}

export interface CapturePlan {
  /** No capture has a known color: every photo counts toward its part, up to what the part needs. */
  part_only: boolean;
  parts: PartPlan[];
  total_needed: number;
  total_have: number;
  total_missing: number;
  complete_parts: number;
}

/**
 * For each part: `angles x colors` captures are wanted; the colors already captured most
 * count first (up to `angles` each), colors still missing are left to the operator's choice.
 * With part-only data (no capture has a known color) the photos of a part count toward it
 * whatever their color, up to the same number. Parts come in tier order (the config's
 * order), then in target_parts.json order.
 */
export function planCaptures(captures: readonly Capture[], targets: readonly TargetPart[], colors: readonly ColorEntry[], config: CapturePlanConfig): CapturePlan {
  const colorName = new Map(colors.map((c) => [c.id, c.name]));
  const byPart = new Map<string, Map<number, number>>();
  for (const c of captures) {
    const m = byPart.get(c.partId) ?? new Map<number, number>();
    m.set(c.colorId, (m.get(c.colorId) ?? 0) + 1);
    byPart.set(c.partId, m);
  }
  const partOnly = captures.length > 0 && captures.every((c) => !colorName.has(c.colorId));
  const tierOrder = Object.keys(config.tiers);
  const parts = targets.map((t): PartPlan => {
    const tier = t.tier !== undefined && t.tier in config.tiers ? t.tier : config.default_tier;
    const { angles, colors: nColors } = config.tiers[tier]!;
    const counts = byPart.get(t.id) ?? new Map<number, number>();
    const known = [...counts.entries()].filter(([id]) => id !== UNKNOWN_COLOR && colorName.has(id)).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const counted = known.slice(0, nColors);
    const per_color = counted.map(([id, n]) => ({ id, name: colorName.get(id)!, have: Math.min(n, angles), needed: angles }));
    const needed = angles * nColors;
    const unknown_color = [...counts.entries()].filter(([id]) => !colorName.has(id)).reduce((a, [, n]) => a + n, 0);
    const have = partOnly ? Math.min(unknown_color, needed) : per_color.reduce((a, c) => a + c.have, 0);
    return { id: t.id, name: t.name, tier, angles, colors: nColors, needed, have, missing: needed - have, per_color, unknown_color };
  });
  const order = new Map(targets.map((t, i) => [t.id, i]));
  parts.sort((a, b) => tierOrder.indexOf(a.tier) - tierOrder.indexOf(b.tier) || order.get(a.id)! - order.get(b.id)!);
  const sum = (f: (p: PartPlan) => number) => parts.reduce((a, p) => a + f(p), 0);
  return {
    part_only: partOnly,
    parts,
    total_needed: sum((p) => p.needed),
    total_have: sum((p) => p.have),
    total_missing: sum((p) => p.missing),
    complete_parts: parts.filter((p) => p.missing === 0).length,
  };
}

/** The plan as the operator reads it while capturing. */
export function formatCapturePlan(plan: CapturePlan): string {
  const rows = plan.parts.map((p) => {
    const colorsText = p.per_color.map((c) => `${c.name} ${c.have}/${c.needed}`);
    const more = p.colors - p.per_color.length;
    if (plan.part_only) colorsText.push(`${p.unknown_color} photo(s), no color labels`);
    else if (more > 0) colorsText.push(`${more} more color${more > 1 ? 's' : ''} x ${p.angles} angles`);
    return [p.id, p.name, p.tier, `${p.have}/${p.needed}`, p.missing === 0 ? 'done' : String(p.missing), colorsText.join(', ')];
  });
  const head = ['part', 'name', 'tier', 'have/need', 'still', 'per color (have/angles)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [
    plan.part_only
      ? 'Capture plan: captures per target part (angles x colors by tier, config/data.yaml capture_plan); no color labels: every photo counts toward its part'
      : 'Capture plan: real captures per target part (angles x colors by tier, config/data.yaml capture_plan)',
    line(head),
    ...rows.map(line),
    '',
    `Still to photograph: ${plan.total_missing} images (${plan.total_have}/${plan.total_needed} done; ${plan.complete_parts} of ${plan.parts.length} parts complete)`,
    '',
  ].join('\n');
}
