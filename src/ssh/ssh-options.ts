// The one way brickflow calls the system's OpenSSH client (the deploy stage, the SFTP remote
// cache): strict host key checking against a given known_hosts file, no prompts, no
// passwords, no ~/.ssh/config, so a connection behaves the same on every machine.

/** Where and as whom to connect. */
export interface SshEndpoint {
  host: string;
  user: string;
  port: number;
  /** Private key file; when absent, ssh's own defaults (~/.ssh/id_*, the agent). */
  identityFile?: string;
  /** The known_hosts file that must list the host (StrictHostKeyChecking=yes). */
  knownHosts: string;
  connectTimeoutS: number;
  /** Seconds between keep-alive probes; three missed ones drop the connection (default 5). */
  serverAliveIntervalS?: number;
  /** Set while a multiplexed connection is open (ControlMaster). */
  controlPath?: string;
}

/** ssh options shared by every connection: no config files, no prompts, no passwords. */
export function sshOptions(target: SshEndpoint): string[] {
  return [
    '-F', 'none', // ignore ~/.ssh/config so a connection behaves the same on every machine
    '-p', String(target.port),
    ...(target.identityFile ? ['-i', target.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    '-o', 'BatchMode=yes', // never prompt (for a passphrase, a password or a new host key)
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'PubkeyAuthentication=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${target.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', `ConnectTimeout=${target.connectTimeoutS}`,
    '-o', `ServerAliveInterval=${target.serverAliveIntervalS ?? 5}`,
    '-o', 'ServerAliveCountMax=3',
    '-o', 'LogLevel=ERROR',
    ...(target.controlPath
      ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${target.controlPath}`, '-o', 'ControlPersist=20']
      : []),
  ];
}

export function hostLabel(target: SshEndpoint): string {
  return `${target.user}@${target.host}:${target.port}`;
}
