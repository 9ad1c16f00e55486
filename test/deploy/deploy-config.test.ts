// Reading config/deploy.yaml's values: defaults, paths, and what counts as "no target".
import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseDeploySettings } from '../../src/ml/deploy/deploy-config.ts';

const target = { host: 'legopi.local', user: 'pi', identity_file: 'keys/pi', known_hosts: '~/.ssh/known_hosts', remote_dir: '~/brickflow/', runtime: { modules: '/opt/rt/node_modules' } };

describe('parseDeploySettings', () => {
  it('fills defaults and resolves local paths against the project, remote ~ against the login folder', () => {
    const r = parseDeploySettings({ target }, 'config/deploy.yaml', '/proj');
    expect(r.ok && r.value.target).toEqual({
      host: 'legopi.local', user: 'pi', port: 22,
      identityFile: '/proj/keys/pi', knownHosts: `${homedir()}/.ssh/known_hosts`, remoteDir: 'brickflow',
      connectTimeoutS: 10, bandwidthLimitKbps: 0, keepVersions: 5,
      runtime: { node: 'node', modules: '/opt/rt/node_modules' },
      service: { restart: '', healthUrl: '', healthTimeoutS: 30 },
    });
    expect(r.ok && r.value.smokeTest).toEqual({ samples: 8, maxAbsDiff: 1e-3, warmupRuns: 20, latencyRuns: 200, threads: 0, latencyGate: { percentile: 'p95', maxMs: 100 } });
  });

  it('reads the latency gate: a percentile and a limit, or null to measure without gating', () => {
    const gated = parseDeploySettings({ smoke_test: { latency_gate: { percentile: 'p99', max_ms: 80 } } }, 'config/deploy.yaml', '/proj');
    expect(gated.ok && gated.value.smokeTest.latencyGate).toEqual({ percentile: 'p99', maxMs: 80 });
    const measured = parseDeploySettings({ smoke_test: { latency_gate: null } }, 'config/deploy.yaml', '/proj');
    expect(measured.ok && measured.value.smokeTest.latencyGate).toBeUndefined();
    const bad = parseDeploySettings({ smoke_test: { latency_gate: { percentile: 'p90' } } }, 'config/deploy.yaml', '/proj');
    expect(bad.ok ? '' : bad.failure.message).toContain('config/deploy.yaml: smoke_test.latency_gate.percentile: must be one of "p50", "p95", "p99"');
  });

  it('treats a null target or an empty host as no target', () => {
    for (const raw of [{ target: null }, {}, { target: { ...target, host: ' ' } }]) {
      const r = parseDeploySettings(raw, 'config/deploy.yaml', '/proj');
      expect(r.ok && r.value.target).toBeUndefined();
    }
  });

  it('names every bad key, with the file', () => {
    const r = parseDeploySettings({ target: { ...target, port: 0, password: 'x' }, smoke_test: { samples: 0 } }, 'config/deploy.yaml', '/proj');
    expect(r.ok ? '' : r.failure.message).toBe(
      'invalid deploy settings:\n' +
      '  config/deploy.yaml: unknown key "password" in target\n' +
      '  config/deploy.yaml: target.port: must be >= 1\n' +
      '  config/deploy.yaml: smoke_test.samples: must be >= 1',
    );
  });
});
