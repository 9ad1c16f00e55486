// The one place that decides whether a stage must run, and says why as a typed reason;
// `status`, `run --dry-run` and `run` all ask it.
import type { LockEntry, StageFingerprint } from './lock-file.ts';
import type { StageInputs } from './fingerprint.ts';

export type StaleReason =
  | { kind: 'forced' }
  | { kind: 'never-run' }
  | { kind: 'definition-changed' }
  | { kind: 'param-changed'; file: string; key: string }
  | { kind: 'env-changed'; name: string }
  | { kind: 'dep-missing'; path: string }
  | { kind: 'dep-changed'; path: string }
  | { kind: 'code-changed'; path: string }
  | { kind: 'out-missing'; path: string }
  | { kind: 'out-edited'; path: string }
  /** A command undid what the stage's last run did (lock-file.ts invalidateStage). */
  | { kind: 'invalidated'; why: string }
  /** Predicted, not observed: an upstream stage will rerun first (status / dry run). */
  | { kind: 'upstream-stale'; stage: string };

export type Freshness = { fresh: true } | { fresh: false; reason: StaleReason };

/** Cheap checks first, as DVC does; the first difference found is the reason. */
export function decideFreshness(
  previous: LockEntry | undefined,
  inputs: StageInputs,
  outs: StageFingerprint['outs'],
  force = false,
): Freshness {
  const stale = (reason: StaleReason): Freshness => ({ fresh: false, reason });
  if (force) return stale({ kind: 'forced' });
  if (!previous) return stale({ kind: 'never-run' });
  if (previous.invalidated !== undefined) return stale({ kind: 'invalidated', why: previous.invalidated });
  if (previous.definition !== inputs.definition) return stale({ kind: 'definition-changed' });
  for (const [file, keys] of Object.entries(inputs.params)) {
    for (const [key, value] of Object.entries(keys)) {
      if (JSON.stringify(previous.params[file]?.[key] ?? null) !== JSON.stringify(value)) {
        return stale({ kind: 'param-changed', file, key });
      }
    }
  }
  for (const [name, value] of Object.entries(inputs.env ?? {})) {
    if ((previous.env?.[name] ?? '') !== value) return stale({ kind: 'env-changed', name });
  }
  for (const [path, hash] of Object.entries(inputs.deps)) {
    if (hash === null) return stale({ kind: 'dep-missing', path });
    if (previous.deps[path] !== hash) return stale({ kind: 'dep-changed', path });
  }
  const codePaths = new Set([...Object.keys(inputs.code), ...Object.keys(previous.code)]);
  for (const path of [...codePaths].sort()) {
    if (previous.code[path] !== inputs.code[path]) return stale({ kind: 'code-changed', path });
  }
  for (const [path, hash] of Object.entries(outs)) {
    if (hash === null) return stale({ kind: 'out-missing', path });
    if (previous.outs[path] !== hash) return stale({ kind: 'out-edited', path });
  }
  return { fresh: true };
}

/** The reason as a sentence fragment: "stale: <this>". */
export function describeReason(r: StaleReason): string {
  switch (r.kind) {
    case 'forced':
      return 'forced (--force)';
    case 'never-run':
      return 'never run';
    case 'definition-changed':
      return 'its entry in pipeline.yaml changed';
    case 'param-changed':
      return `param ${r.key} in ${r.file} changed`;
    case 'env-changed':
      return `env ${r.name} changed`;
    case 'dep-missing':
      return `dep ${r.path} is missing`;
    case 'dep-changed':
      return `dep ${r.path} changed`;
    case 'code-changed':
      return `code ${r.path} changed`;
    case 'out-missing':
      return `out ${r.path} is missing`;
    case 'out-edited':
      return `out ${r.path} was edited`;
    case 'invalidated':
      return r.why;
    case 'upstream-stale':
      return `upstream stage ${r.stage} will run first`;
    default: {
      const never: never = r;
      return String(never);
    }
  }
}
