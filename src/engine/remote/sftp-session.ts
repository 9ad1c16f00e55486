// The SFTP protocol (version 3, as OpenSSH's sftp-server speaks it) over the stdin/stdout of
// one `ssh -s … sftp` process. Requests carry ids, so many are in flight at once: a batch of
// stats is one round trip, and a transfer keeps a window of reads/writes outstanding.
// The ssh process does all the connecting, host key checking and encryption.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

const enum Fxp {
  Init = 1,
  Version = 2,
  Open = 3,
  Close = 4,
  Read = 5,
  Write = 6,
  Lstat = 7,
  Fstat = 8,
  Opendir = 11,
  Readdir = 12,
  Remove = 13,
  Mkdir = 14,
  Rename = 18,
  Status = 101,
  Handle = 102,
  Data = 103,
  Name = 104,
  Attrs = 105,
  Extended = 200,
}

export const enum SftpCode {
  Ok = 0,
  Eof = 1,
  NoSuchFile = 2,
  PermissionDenied = 3,
  Failure = 4,
}

export const OpenFlag = { read: 0x01, write: 0x02, create: 0x08, truncate: 0x10 } as const;

const ATTR_SIZE = 0x1;
const ATTR_UIDGID = 0x2;
const ATTR_PERMISSIONS = 0x4;
const ATTR_ACMODTIME = 0x8;
const ATTR_EXTENDED = 0x80000000;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** A request the server answered with an error status. */
export class SftpStatusError extends Error {
  override readonly name = 'SftpStatusError';
  constructor(
    readonly code: number,
    readonly path: string,
    serverMessage: string,
  ) {
    super(`${path}: ${serverMessage || `sftp status ${code}`}`);
  }
}

export interface FileAttrs {
  size?: number;
  isDirectory: boolean;
}

export interface DirEntry {
  name: string;
  attrs: FileAttrs;
}

class PacketWriter {
  private readonly parts: Buffer[] = [];

  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  u64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  string(v: string | Uint8Array): this {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.u32(bytes.byteLength);
    this.parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return this;
  }

  /** The framed packet: its length, then the body. */
  packet(): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  }
}

class PacketReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** Bytes not read yet. */
  get left(): number {
    return this.buf.length - this.pos;
  }

  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    const v = Number(this.buf.readBigUInt64BE(this.pos));
    this.pos += 8;
    return v;
  }

  bytes(): Buffer {
    const n = this.u32();
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  attrs(): FileAttrs {
    const flags = this.u32();
    const out: FileAttrs = { isDirectory: false };
    if (flags & ATTR_SIZE) out.size = this.u64();
    if (flags & ATTR_UIDGID) this.pos += 8;
    if (flags & ATTR_PERMISSIONS) out.isDirectory = (this.u32() & S_IFMT) === S_IFDIR;
    if (flags & ATTR_ACMODTIME) this.pos += 8;
    if (flags & ATTR_EXTENDED) {
      for (let n = this.u32(); n > 0; n--) {
        this.bytes();
        this.bytes();
      }
    }
    return out;
  }
}

interface Reply {
  type: number;
  r: PacketReader;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

export class SftpSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private lost: Error | undefined;
  private onVersion: ((extensions: Map<string, string>) => void) | undefined;
  /** Extensions the server announced (`posix-rename@openssh.com`, …). */
  extensions = new Map<string, string>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  /**
   * Speaks SFTP over an already spawned `ssh -s … sftp`. Rejects with `whenLost(stderr)` if
   * the process ends before the server answers, or after `timeoutMs` without an answer.
   * Later, every request in flight when the process ends rejects with `whenLost` too.
   */
  static start(child: ChildProcessWithoutNullStreams, timeoutMs: number, whenLost: (stderr: string, timedOut: boolean) => Promise<Error>): Promise<SftpSession> {
    const session = new SftpSession(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => session.receive(d));
    child.stdin.on('error', () => undefined); // a dead ssh is reported by its exit
    child.on('error', (err) => (stderr += `cannot run ssh: ${err.message}\n`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        session.onVersion = undefined;
        child.kill('SIGKILL');
        void whenLost(stderr, true).then(reject);
      }, timeoutMs);
      session.onVersion = (ext) => {
        clearTimeout(timer);
        session.extensions = ext;
        resolve(session);
      };
      child.on('close', () => {
        const wasStarting = session.onVersion !== undefined;
        session.onVersion = undefined;
        clearTimeout(timer);
        void whenLost(stderr, false).then((err) => {
          session.lost = err;
          if (wasStarting) reject(err);
          for (const p of session.pending.values()) p.reject(err);
          session.pending.clear();
        });
      });
      child.stdin.write(new PacketWriter().u8(Fxp.Init).u32(3).packet());
    });
  }

  private receive(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [head];
      const length = head.readUInt32BE(0);
      if (head.length < 4 + length) return;
      const packet = head.subarray(4, 4 + length);
      const rest = head.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.dispatch(packet);
    }
  }

  private dispatch(packet: Buffer): void {
    const type = packet[0]!;
    const r = new PacketReader(packet.subarray(1));
    if (type === Fxp.Version) {
      r.u32();
      const ext = new Map<string, string>();
      while (r.left > 0) ext.set(r.text(), r.text());
      this.onVersion?.(ext);
      return;
    }
    const id = r.u32();
    const waiter = this.pending.get(id);
    this.pending.delete(id);
    waiter?.resolve({ type, r });
  }

  private request(type: number, build: (w: PacketWriter) => void): Promise<Reply> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++ >>> 0;
    const w = new PacketWriter().u8(type).u32(id);
    build(w);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(w.packet());
    });
  }

  /** Throws the server's error unless the reply is an OK status. */
  private static checkStatus(reply: Reply, path: string): void {
    if (reply.type !== Fxp.Status) throw new Error(`${path}: unexpected sftp reply ${reply.type}`);
    const code = reply.r.u32();
    if (code !== SftpCode.Ok) throw new SftpStatusError(code, path, reply.r.text());
  }

  /** True for an EOF status; throws for any other status or an unexpected reply type. */
  private static isEof(reply: Reply, path: string): boolean {
    if (reply.type !== Fxp.Status) throw new Error(`${path}: unexpected sftp reply ${reply.type}`);
    const code = reply.r.u32();
    if (code === SftpCode.Eof) return true;
    throw new SftpStatusError(code, path, reply.r.text());
  }

  private static expect(reply: Reply, type: number, path: string): PacketReader {
    if (reply.type === type) return reply.r;
    SftpSession.checkStatus(reply, path);
    throw new Error(`${path}: sftp answered OK where data was expected`);
  }

  async open(path: string, flags: number): Promise<Buffer> {
    const reply = await this.request(Fxp.Open, (w) => w.string(path).u32(flags).u32(0));
    return Buffer.from(SftpSession.expect(reply, Fxp.Handle, path).bytes());
  }

  async close(handle: Buffer, path: string): Promise<void> {
    SftpSession.checkStatus(await this.request(Fxp.Close, (w) => w.string(handle)), path);
  }

  async write(handle: Buffer, offset: number, data: Uint8Array, path: string): Promise<void> {
    SftpSession.checkStatus(await this.request(Fxp.Write, (w) => w.string(handle).u64(offset).string(data)), path);
  }

  /** Up to `length` bytes at `offset`, or null at the end of the file. */
  async read(handle: Buffer, offset: number, length: number, path: string): Promise<Buffer | null> {
    const reply = await this.request(Fxp.Read, (w) => w.string(handle).u64(offset).u32(length));
    if (reply.type === Fxp.Data) return Buffer.from(reply.r.bytes());
    SftpSession.isEof(reply, path);
    return null;
  }

  async fstat(handle: Buffer, path: string): Promise<FileAttrs> {
    return SftpSession.expect(await this.request(Fxp.Fstat, (w) => w.string(handle)), Fxp.Attrs, path).attrs();
  }

  /** The attributes of `path` (not following a final symlink), or null when it does not exist. */
  async lstat(path: string): Promise<FileAttrs | null> {
    const reply = await this.request(Fxp.Lstat, (w) => w.string(path));
    if (reply.type === Fxp.Attrs) return reply.r.attrs();
    try {
      SftpSession.checkStatus(reply, path);
    } catch (err) {
      if (err instanceof SftpStatusError && err.code === SftpCode.NoSuchFile) return null;
      throw err;
    }
    return null;
  }

  /** The entries of a folder (without . and ..). */
  async readdir(path: string): Promise<DirEntry[]> {
    const handle = Buffer.from(SftpSession.expect(await this.request(Fxp.Opendir, (w) => w.string(path)), Fxp.Handle, path).bytes());
    const entries: DirEntry[] = [];
    try {
      for (;;) {
        const reply = await this.request(Fxp.Readdir, (w) => w.string(handle));
        if (reply.type !== Fxp.Name && SftpSession.isEof(reply, path)) break;
        for (let n = reply.r.u32(); n > 0; n--) {
          const name = reply.r.text();
          reply.r.text(); // the `ls -l` style long name
          const attrs = reply.r.attrs();
          if (name !== '.' && name !== '..') entries.push({ name, attrs });
        }
      }
    } finally {
      await this.close(handle, path);
    }
    return entries;
  }

  async remove(path: string): Promise<void> {
    SftpSession.checkStatus(await this.request(Fxp.Remove, (w) => w.string(path)), path);
  }

  async mkdir(path: string): Promise<void> {
    SftpSession.checkStatus(await this.request(Fxp.Mkdir, (w) => w.string(path).u32(0)), path);
  }

  /** Renames over an existing `to` atomically (OpenSSH's posix-rename; plain RENAME refuses to overwrite). */
  async rename(from: string, to: string): Promise<void> {
    const reply = this.extensions.has('posix-rename@openssh.com')
      ? await this.request(Fxp.Extended, (w) => w.string('posix-rename@openssh.com').string(from).string(to))
      : await this.request(Fxp.Rename, (w) => w.string(from).string(to));
    SftpSession.checkStatus(reply, to);
  }

  /** Ends the session: ssh exits once its stdin closes. */
  async end(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise((r) => this.child.once('close', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await closed;
    clearTimeout(timer);
  }
}
