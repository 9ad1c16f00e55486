// Run by the store tests as a child process they kill -9 mid-upload: opens the store
// described on the command line and puts one file.
import type { ObjectStore, RemoteSpec } from '../../src/engine/remote/object-store.ts';

const [specJson, key, file] = process.argv.slice(2);
const spec = JSON.parse(specJson!) as RemoteSpec;
const store: ObjectStore = spec.url.startsWith('s3://')
  ? await (await import('../../src/engine/remote/s3-store.ts')).openS3Store('killed', spec)
  : await (await import('../../src/engine/remote/sftp-store.ts')).openSftpStore('killed', spec);
await store.putFile(key!, file!);
await store.close();
