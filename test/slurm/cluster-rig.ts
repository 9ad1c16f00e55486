// A real one-node Slurm cluster on 127.0.0.1 for the Slurm executor's tests (and, detached,
// for scripts/slurm-one-node.ts): munged, slurmctld and slurmd (Debian's slurm-wlm and
// munge) with their own key, config, state and spool folder, on free ports. Clients find it
// through SLURM_CONF, munge through the config's AuthInfo socket. No accounting daemon: job
// states come from `scontrol show job`, which keeps a finished job for MinJobAge (300 s) —
// `sacct` needs slurmdbd.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/sshd-rig.ts';
import { isRunning, waitFor } from '../helpers/project-rig.ts';

export interface SlurmCluster {
  dir: string;
  /** The environment the runner (and any Slurm client) needs to reach this cluster. */
  env: { SLURM_CONF: string };
  partition: string;
  /** `squeue` job ids still queued or running. */
  activeJobs(): string[];
  stop(): Promise<void>;
}

const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];

/** The node's CPUs and memory as slurmd sees them (`slurmd -C`), so the config matches the machine. */
function nodeResources(): { cpus: number; memoryMb: number } {
  const line = execFileSync('slurmd', ['-C'], { encoding: 'utf8' });
  const cpus = Number(/CPUs=(\d+)/.exec(line)?.[1] ?? 1);
  const memoryMb = Number(/RealMemory=(\d+)/.exec(line)?.[1] ?? 1024);
  return { cpus, memoryMb };
}

/** The pids of a detached cluster's daemons, one a line, in start order. */
const PIDS_FILE = 'daemons.pid';

export interface ClusterOptions {
  /** The cluster's folder (created, must not hold another cluster); default a new temporary one. */
  dir?: string;
  /** Daemons outlive this process (scripts/slurm-one-node.ts); stop them with stopDetachedCluster. */
  detached?: boolean;
}

/** Starts the cluster and waits until its node is idle; throws with the daemons' logs when it cannot. */
export async function startSlurmCluster(options: ClusterOptions = {}): Promise<SlurmCluster> {
  const missing = DAEMONS.filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) {
    throw new Error(`the Slurm tests need Debian's slurm-wlm and munge (missing: ${missing.join(', ')}); .ci/run installs them: apt-get install -y slurm-wlm munge`);
  }
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'brickflow-slurm-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub));
  const key = join(dir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(dir, 'munge.sock');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const { cpus, memoryMb } = nodeResources();
  const user = userInfo().username;
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, [
    'ClusterName=brickflowtest',
    'SlurmctldHost=localhost',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    `SlurmUser=${user}`,
    `SlurmdUser=${user}`,
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${socket}`,
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
    // No cgroups in a container: track a job's processes by parentage, bind nothing.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    // Jobs that ask for no memory get a slice, so independent stages can run side by side.
    'DefMemPerCPU=256',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'MpiDefault=none',
    'ReturnToService=2',
    // SIGTERM to SIGKILL after 2 s (default 30), so cancelled and timed-out jobs end promptly.
    'KillWait=2',
    `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memoryMb} State=UNKNOWN`,
    // Cores shared by up to 8 jobs: a job never waits for another (the tests run several at once).
    'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8',
    '',
  ].join('\n'));
  const env = { SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const start = (name: string, args: string[]): void => {
    const log = openSync(join(dir, 'log', `${name}.out`), 'a');
    const daemon = spawn(name, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log], detached: options.detached === true });
    daemons.push(daemon);
    if (options.detached) {
      daemon.unref();
      writeFileSync(join(dir, PIDS_FILE), daemons.map((d) => `${d.pid}\n`).join(''));
    }
  };
  const stop = async (): Promise<void> => {
    for (const d of daemons.reverse()) if (d.exitCode === null) d.kill('SIGTERM');
    await Promise.all(daemons.map((d) => (d.exitCode === null && d.signalCode === null ? new Promise((r) => d.once('exit', r)) : undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = (): string =>
    ['munged.out', 'slurmctld.out', 'slurmd.out', 'slurmctld.log', 'slurmd.log']
      .map((f) => join(dir, 'log', f))
      .filter(existsSync)
      .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');

  try {
    start('munged', ['-F', '--force', `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${join(dir, 'munged.pid')}`, `--seed-file=${join(dir, 'munged.seed')}`, `--log-file=${join(dir, 'log', 'munged.log')}`]);
    await until(() => existsSync(socket), 'munged to create its socket');
    start('slurmctld', ['-D', '-c', '-f', conf]);
    start('slurmd', ['-D', '-N', 'localhost', '-f', conf]);
    await until(() => {
      const r = spawnSync('sinfo', ['-h', '-N', '-o', '%T'], { env: { ...process.env, ...env }, encoding: 'utf8' });
      return r.status === 0 && r.stdout.trim() === 'idle';
    }, 'sinfo to show the node idle');
  } catch (err) {
    const message = `the one-node Slurm cluster did not start: ${(err as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message);
  }
  return {
    dir,
    env,
    partition: 'debug',
    activeJobs: () => execFileSync('squeue', ['-h', '-o', '%i'], { env: { ...process.env, ...env }, encoding: 'utf8' }).split('\n').filter(Boolean),
    stop,
  };
}

/** Stops the daemons a detached cluster in `dir` runs (slurmd first) and removes the folder. */
export async function stopDetachedCluster(dir: string): Promise<void> {
  const file = join(dir, PIDS_FILE);
  if (!existsSync(file)) throw new Error(`no one-node cluster in ${dir} (${PIDS_FILE} is missing)`);
  const pids = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number).reverse();
  for (const pid of pids) if (isRunning(pid)) process.kill(pid, 'SIGTERM');
  await until(() => !pids.some(isRunning), 'the daemons to exit');
  rmSync(dir, { recursive: true, force: true });
}

/** waitFor, saying what did not happen. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  await waitFor(predicate, 60_000).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}
