// Reads and checks the deploy settings (config/deploy.yaml's `target` and `smoke_test`).
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkValues } from '../../config/check-values.ts';
import { fail, ok, type Result } from './result.ts';

export interface DeviceRuntime {
  /** Node.js executable on the device. */
  node: string;
  /** node_modules folder on the device that holds onnxruntime-node. */
  modules: string;
}

export interface ServiceSettings {
  restart: string;
  healthUrl: string;
  healthTimeoutS: number;
}

export interface DeployTarget {
  host: string;
  user: string;
  port: number;
  /** Absolute path of the private key (keys only). */
  identityFile: string;
  /** Absolute path of the known_hosts file that must list the device. */
  knownHosts: string;
  /** Deployment root on the device (absolute, or relative to the user's home; `~/x` becomes `x`). */
  remoteDir: string;
  connectTimeoutS: number;
  bandwidthLimitKbps: number;
  keepVersions: number;
  runtime: DeviceRuntime;
  service: ServiceSettings;
  /** Set while a multiplexed connection is open (see ssh-client.ts openSharedConnection). */
  controlPath?: string;
}

/** The device latency a candidate must meet before it goes live. */
export interface LatencyGate {
  /** Which percentile of the timed runs is compared (config/deploy.yaml says why). */
  percentile: LatencyPercentile;
  maxMs: number;
}

export type LatencyPercentile = 'p50' | 'p95' | 'p99';

export interface SmokeTestSettings {
  samples: number;
  maxAbsDiff: number;
  warmupRuns: number;
  latencyRuns: number;
  /** onnxruntime intra-op threads on the device; 0 = its default (all cores). */
  threads: number;
  /** undefined: latency is measured and reported, not gated. */
  latencyGate: LatencyGate | undefined;
}

export interface DeploySettings {
  /** undefined: no target configured, the stage is skipped. */
  target: DeployTarget | undefined;
  smokeTest: SmokeTestSettings;
}

const SCHEMA = fileURLToPath(new URL('../../../schemas/deploy.schema.json', import.meta.url));

/**
 * Checks the raw `{target, smoke_test}` values against schemas/deploy.schema.json, which
 * also supplies every default, and resolves paths (`~` to the home folder, relative local
 * paths against `root`). `file` (project-relative) names the config file in messages.
 */
export function parseDeploySettings(raw: unknown, file: string, root: string): Result<DeploySettings> {
  const value = structuredClone(raw ?? {}) as RawSettings;
  const problems = checkValues(value, SCHEMA, { name: file, abs: resolve(root, file) });
  if (problems.length > 0) return fail({ reason: 'config', message: `invalid deploy settings:\n${problems.map((l) => `  ${l}`).join('\n')}` });
  const smoke = value.smoke_test;
  const smokeTest: SmokeTestSettings = {
    samples: smoke.samples,
    maxAbsDiff: smoke.max_abs_diff,
    warmupRuns: smoke.warmup_runs,
    latencyRuns: smoke.latency_runs,
    threads: smoke.threads,
    latencyGate: smoke.latency_gate === null ? undefined : { percentile: smoke.latency_gate.percentile, maxMs: smoke.latency_gate.max_ms },
  };
  const t = value.target;
  if (!t || t.host.trim() === '') return ok({ target: undefined, smokeTest });
  if (!t.runtime) return fail({ reason: 'config', message: `${file}: target.runtime.modules is required (the device folder holding onnxruntime-node)` });
  return ok({
    smokeTest,
    target: {
      host: t.host.trim(),
      user: t.user,
      port: t.port,
      identityFile: localPath(t.identity_file, root),
      knownHosts: localPath(t.known_hosts, root),
      remoteDir: remotePath(t.remote_dir),
      connectTimeoutS: t.connect_timeout_s,
      bandwidthLimitKbps: t.bandwidth_limit_kbps,
      keepVersions: t.keep_versions,
      runtime: { node: t.runtime.node, modules: t.runtime.modules },
      service: { restart: t.service.restart, healthUrl: t.service.health_url, healthTimeoutS: t.service.health_timeout_s },
    },
  });
}

/** The remote shell would not expand a quoted `~`: ssh starts in the home folder, so drop it. */
function remotePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '~') return '.';
  return trimmed.startsWith('~/') ? trimmed.slice(2) : trimmed;
}

function localPath(path: string, root: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(root, path);
}

/** The file's shape once the schema has filled its defaults. */
interface RawSettings {
  target?: {
    host: string;
    user: string;
    port: number;
    identity_file: string;
    known_hosts: string;
    remote_dir: string;
    connect_timeout_s: number;
    bandwidth_limit_kbps: number;
    keep_versions: number;
    runtime?: { node: string; modules: string };
    service: { restart: string; health_url: string; health_timeout_s: number };
  } | null;
  smoke_test: {
    samples: number;
    max_abs_diff: number;
    warmup_runs: number;
    latency_runs: number;
    threads: number;
    latency_gate: { percentile: LatencyPercentile; max_ms: number } | null;
  };
}
