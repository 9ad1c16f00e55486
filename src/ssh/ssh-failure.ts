// Turns what ssh printed when it gave up (exit 255) into a failure that says what to do:
// a host key problem names the key the host presents and the known_hosts line to accept it.
import { scanHostKeys } from './host-key.ts';
import { hostLabel, type SshEndpoint } from './ssh-options.ts';

/** Why a connection failed; `message` is the sentence a user reads. */
export type SshFailure =
  | { reason: 'unknown-host-key'; message: string; fingerprints: string[] }
  | { reason: 'host-key-mismatch'; message: string; fingerprints: string[] }
  | { reason: 'auth-failed'; message: string }
  | { reason: 'unreachable'; message: string };

/** The last few meaningful lines of a tool's stderr (progress lines dropped), joined by " | ". */
export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').filter((l) => !/^\s*[\d,]+\s+\d+%/.test(l)).slice(-n).join(' | ');
}

/**
 * Explains ssh's exit-255 `stderr`. `role` is what the host is to the user in messages
 * ("device" for the deploy stage, "server" for a cache remote).
 */
export async function explainSshFailure(target: SshEndpoint, stderr: string, role = 'server'): Promise<SshFailure> {
  const where = hostLabel(target);
  if (/Host key verification failed|host key .*not known|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr)) {
    const changed = /REMOTE HOST IDENTIFICATION HAS CHANGED|does not match|key for .* has changed/i.test(stderr);
    const keys = await scanHostKeys(target.host, target.port, target.connectTimeoutS);
    const fingerprints = keys.map((k) => `${k.fingerprint} (${k.type})`);
    const shown = keys.length > 0
      ? keys.map((k) => `    ${k.fingerprint} (${k.type})`).join('\n')
      : '    (could not read the host key with ssh-keyscan)';
    const lines = keys.map((k) => `    ${k.knownHostsLine}`).join('\n');
    if (changed) {
      return {
        reason: 'host-key-mismatch',
        fingerprints,
        message:
          `the host key of ${target.host}:${target.port} does NOT match the one in ${target.knownHosts} ` +
          `(someone may be impersonating the ${role}, or it was reinstalled). The ${role} now presents:\n${shown}\n` +
          `If you have checked this fingerprint on the ${role} itself, replace its line in ${target.knownHosts} with:\n${lines}`,
      };
    }
    return {
      reason: 'unknown-host-key',
      fingerprints,
      message:
        `the host key of ${target.host}:${target.port} is not in ${target.knownHosts}. The ${role} presents:\n${shown}\n` +
        `Check it on the ${role} (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then accept it by adding to ${target.knownHosts}:\n${lines}`,
    };
  }
  if (/Permission denied|Too many authentication failures|no such identity|Load key/i.test(stderr)) {
    const key = target.identityFile ? `key ${target.identityFile}` : 'every key ssh offered';
    return {
      reason: 'auth-failed',
      message: `${where} refused ${key} (keys only, no passwords): add its public key to the ${role}'s ~/.ssh/authorized_keys. ssh said: ${lastLines(stderr, 2)}`,
    };
  }
  return { reason: 'unreachable', message: `cannot reach ${where}: ${lastLines(stderr, 2) || 'ssh failed without a message'}` };
}
