// Talks to the device through the system's OpenSSH client and rsync, with strict host key
// checking against the configured known_hosts file and key-only authentication (src/ssh).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, shellQuote, type ProcessOutput } from '../../ssh/process.ts';
import { explainSshFailure, lastLines } from '../../ssh/ssh-failure.ts';
import { hostLabel, sshOptions } from '../../ssh/ssh-options.ts';
import type { DeployTarget } from './deploy-config.ts';
import { makeOwnedDir } from './owned-dir.ts';
import { fail, ok, type Result } from './result.ts';

/**
 * Lets every ssh/rsync call of one deploy share a single connection (OpenSSH multiplexing):
 * the key exchange and authentication happen once instead of once per step. Call `close`
 * when done; a killed deploy's master exits by itself after 20 s idle, and the next deploy
 * removes the folder it leaves.
 */
export function openSharedConnection(target: DeployTarget): { target: DeployTarget; close(): Promise<void> } {
  // In the temp folder, not the project: a socket path must stay under ~100 bytes.
  const { dir } = makeOwnedDir(tmpdir(), 'bf-ssh-');
  const shared = { ...target, controlPath: join(dir, '%C') };
  return {
    target: shared,
    async close() {
      await runProcess('ssh', [...sshOptions(shared), '-O', 'exit', '-l', target.user, target.host]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RemoteScriptOptions {
  /**
   * Run with a pty (`ssh -tt`), for a long device-side process: when the connection drops
   * (a killed deploy), sshd hangs the pty up and the process gets SIGHUP instead of running
   * on. The pty merges stderr into stdout; line ends come back as \n.
   */
  tty?: boolean;
}

/**
 * Runs a POSIX sh `script` on the device with positional `args` ($1, $2, ...). Exit codes
 * other than 255 (ssh's own failures) are the script's and come back as output.
 */
export async function runRemoteScript(target: DeployTarget, script: string, args: string[], options: RemoteScriptOptions = {}): Promise<Result<ProcessOutput>> {
  const quotedArgs = args.map(shellQuote);
  // With a pty, whatever goes to stdin is echoed back: pass the script as an argument instead.
  const remoteCommand = options.tty ? ['sh', '-c', shellQuote(script), 'sh', ...quotedArgs].join(' ') : ['sh', '-s', '--', ...quotedArgs].join(' ');
  const out = await runProcess('ssh', [...sshOptions(target), ...(options.tty ? ['-tt'] : []), '-l', target.user, '--', target.host, remoteCommand], { input: options.tty ? '' : script });
  if (out.code === 255) return fail(await explainSshFailure(target, out.stderr || out.stdout, 'device'));
  return ok(options.tty ? { ...out, stdout: out.stdout.replace(/\r\n/g, '\n') } : out);
}

/** Like runRemoteScript, but a non-zero exit of the script is a 'remote-failed' failure. */
export async function runRemoteChecked(target: DeployTarget, what: string, script: string, args: string[], options: RemoteScriptOptions = {}): Promise<Result<string>> {
  const res = await runRemoteScript(target, script, args, options);
  if (!res.ok) return res;
  if (res.value.code !== 0) {
    const detail = (res.value.stderr.trim() || res.value.stdout.trim()).split('\n').slice(-5).join('\n  ');
    return fail({ reason: 'remote-failed', message: `${what} failed on ${hostLabel(target)} (exit ${res.value.code}):\n  ${detail}` });
  }
  return ok(res.value.stdout);
}

export interface UploadOptions {
  /** Folder on the device (created) that receives the contents of `localDir`. */
  remoteDest: string;
  /** A sibling folder on the device whose identical files are hard-linked, not sent. */
  linkDest?: string;
  /** Percent done (0-100), as rsync reports it. */
  onProgress?: (percent: number) => void;
}

/** Copies a local folder's contents to the device with rsync over the same strict ssh. */
export async function rsyncUpload(target: DeployTarget, localDir: string, options: UploadOptions): Promise<Result<void>> {
  const sshCommand = ['ssh', ...sshOptions(target), '-l', target.user].map(rsyncWord).join(' ');
  const args = ['-a', '--delete', '--info=progress2', '--no-inc-recursive', '-e', sshCommand];
  if (target.bandwidthLimitKbps > 0) args.push(`--bwlimit=${target.bandwidthLimitKbps}`);
  if (options.linkDest) args.push(`--link-dest=${options.linkDest}`);
  args.push(`${localDir.replace(/\/+$/, '')}/`, `${target.host}:${options.remoteDest}/`);
  const out = await runProcess('rsync', args, {
    onOutput: (chunk) => {
      const matches = [...chunk.matchAll(/\s(\d{1,3})%\s/g)];
      const last = matches.at(-1);
      if (last && options.onProgress) options.onProgress(Number(last[1]));
    },
  });
  if (out.code === 0) return ok(undefined);
  if (/Host key verification failed|Connection refused|Permission denied|Could not resolve|timed out/.test(out.stderr)) {
    return fail(await explainSshFailure(target, out.stderr, 'device'));
  }
  return fail({ reason: 'upload-failed', message: `upload to ${hostLabel(target)}:${options.remoteDest} failed (rsync exit ${out.code}): ${lastLines(out.stderr)}` });
}

/** rsync splits its -e value on spaces and honours quotes. */
function rsyncWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word);
}
