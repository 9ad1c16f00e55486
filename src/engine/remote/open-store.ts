// Opens the ObjectStore a remote's URL names, by scheme: a folder (a path or file://),
// ssh:// (SFTP) or s3://. Store modules load lazily: a run that uses a folder or no remote
// never loads an SSH or S3 client.
import type { ObjectStore, RemoteSpec } from './object-store.ts';
import { openDirectoryStore } from './directory-store.ts';

/** A remote URL no store understands: a config error (exit 2), not an unavailable remote. */
export class RemoteConfigError extends Error {
  override readonly name = 'RemoteConfigError';
}

export async function openStore(name: string, spec: RemoteSpec, projectRoot: string): Promise<ObjectStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec.url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
    case 'file':
      return openDirectoryStore(name, spec, projectRoot);
    case 'ssh':
    case 'sftp':
      return (await import('./sftp-store.ts')).openSftpStore(name, spec);
    case 's3':
      return (await import('./s3-store.ts')).openS3Store(name, spec);
    default:
      throw new RemoteConfigError(`remote "${name}": url ${spec.url} has a scheme (${scheme}://) no store understands; use a folder path, file://, ssh:// or s3://`);
  }
}
