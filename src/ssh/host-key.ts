// Reads a server's host keys and their SHA256 fingerprints (ssh-keyscan + ssh-keygen), so a
// host key error can print exactly what to check and accept.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from './process.ts';

export interface HostKey {
  type: string;
  /** `SHA256:...` as ssh prints it. */
  fingerprint: string;
  /** The line that accepts this key in a known_hosts file. */
  knownHostsLine: string;
}

export async function scanHostKeys(host: string, port: number, timeoutS: number): Promise<HostKey[]> {
  const scan = await runProcess('ssh-keyscan', ['-p', String(port), '-T', String(timeoutS), host]);
  const lines = scan.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'brickflow-keyscan-'));
  try {
    const file = join(dir, 'keys');
    writeFileSync(file, lines.join('\n') + '\n');
    const listed = await runProcess('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
    // "256 SHA256:abc [127.0.0.1]:2222 (ED25519)"
    const fingerprints = listed.stdout.split('\n').filter(Boolean).map((l) => {
      const m = /^\d+\s+(SHA256:\S+)\s+.*\((\w+)\)\s*$/.exec(l);
      return m ? { fingerprint: m[1]!, type: m[2]! } : undefined;
    });
    return lines.flatMap((line, i) => {
      const f = fingerprints[i];
      return f ? [{ ...f, knownHostsLine: line }] : [];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
