// Starts or stops a one-node Slurm cluster on 127.0.0.1 (the one the Slurm tests use,
// test/slurm/cluster-rig.ts), to try `executor: slurm` on one machine:
//
//   node --import tsx scripts/slurm-one-node.ts start [DIR]   # prints the SLURM_CONF to export
//   export SLURM_CONF=DIR/slurm.conf; npx pipeline run
//   node --import tsx scripts/slurm-one-node.ts stop [DIR]
//
// DIR (default: brickflow-slurm-one-node in the temp folder) holds the munge key, the
// config, Slurm's state and the daemons' logs (DIR/log); the daemons run as the current
// user until `stop`. Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSlurmCluster, stopDetachedCluster } from '../test/slurm/cluster-rig.ts';

const USAGE = 'usage: node --import tsx scripts/slurm-one-node.ts start|stop [DIR]';

async function main(): Promise<number> {
  const [command, dirArg] = process.argv.slice(2);
  const dir = resolve(dirArg ?? join(tmpdir(), 'brickflow-slurm-one-node'));
  if (command === 'start') {
    if (existsSync(join(dir, 'slurm.conf'))) {
      process.stderr.write(`${dir} already holds a cluster: stop it first (scripts/slurm-one-node.ts stop ${dir})\n`);
      return 1;
    }
    const cluster = await startSlurmCluster({ dir, detached: true });
    process.stdout.write(
      `a one-node Slurm cluster runs on 127.0.0.1 (partition ${cluster.partition}); its logs are in ${join(dir, 'log')}\n` +
        `export SLURM_CONF=${cluster.env.SLURM_CONF}\n`,
    );
    return 0;
  }
  if (command === 'stop') {
    await stopDetachedCluster(dir);
    process.stdout.write(`stopped the one-node Slurm cluster in ${dir}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
