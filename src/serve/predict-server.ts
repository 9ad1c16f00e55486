// The HTTP service for the sorter app: POST /predict (image bytes -> JSON prediction), GET /health
// (model version). docs/serving.md is its reference: limits, response and error shapes, curl examples.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import sharp from 'sharp';
import type { ClassifierLoader } from '../ml/inference.ts';

export interface ServeOptions {
  /** Largest accepted body in bytes; reading stops there (413). */
  maxBytes: number;
  /** Largest accepted image in decoded pixels (width x height, read from its header); 422 past it. */
  maxPixels: number;
  /** Time allowed for a client to send its request headers, ms. */
  headersTimeoutMs: number;
  /** Time allowed for a client to send its whole request (headers and body), ms. */
  requestTimeoutMs: number;
  /** Called with one line per request (method, path, status, ms) or per client failure; silent when absent. */
  log?: (line: string) => void;
}


/** Bodies we accept: any image type, or raw bytes with no claim about them. */
function acceptedContentType(header: string | undefined): boolean {
  if (!header) return true; // curl --data-binary without -H sends none worth trusting; sharp decides
  const type = header.split(';')[0].trim().toLowerCase();
  return type.startsWith('image/') || type === 'application/octet-stream';
}

type Reply = { status: number; body: Record<string, unknown> };
/** The client went away (or was too slow) before its request was read: there is nobody to answer. */
type Gone = { status: 'gone'; what: string };

const error = (status: number, code: string, message: string): Reply => ({ status, body: { error: code, message } });

function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

type BodyRead = { kind: 'ok'; body: Buffer } | { kind: 'too-large' } | Gone;

/** The request being handled on each connection, so a timeout Node reports on the connection is told to its request. */
const handling = new WeakMap<Socket, IncomingMessage>();
/** Requests whose connection Node closed because they were not received within the request timeout. */
const timedOut = new WeakSet<IncomingMessage>();
const TIMEOUT_WORDS = 'request timeout: the client did not send its request in time';

/** Reads the body up to `maxBytes`; past it, stops reading (the caller answers 413 and closes). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (r: BodyRead) => {
      req.off('data', onData);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        settle({ kind: 'too-large' });
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => settle({ kind: 'ok', body: Buffer.concat(chunks) }));
    // 'error' comes with ECONNRESET (client abort) or ERR_HTTP_REQUEST_TIMEOUT (too slow).
    req.on('error', (e: NodeJS.ErrnoException) => settle({ status: 'gone', what: `${timedOut.has(req) ? TIMEOUT_WORDS : clientFailure(e)} after ${size} bytes of the body` }));
    req.on('close', () => {
      if (req.complete) return;
      settle({ status: 'gone', what: `${timedOut.has(req) ? TIMEOUT_WORDS : 'client closed the connection'} after ${size} bytes of the body` });
    });
  });
}

/** What a client-side failure is, in words (never a stack: it is not a bug of ours). */
function clientFailure(e: NodeJS.ErrnoException): string {
  if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') return TIMEOUT_WORDS;
  if (e.code === 'ECONNRESET' || e.message === 'aborted') return 'client aborted';
  return `client connection error (${e.code ?? e.message})`;
}

async function tooManyPixels(body: Buffer, maxPixels: number): Promise<Reply | undefined> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    // The header only: nothing is decoded yet.
    ({ width, height } = await sharp(body).metadata());
  } catch {
    return undefined; // not an image: the loader says so with its own message
  }
  if (width === undefined || height === undefined || width * height <= maxPixels) return undefined;
  return error(422, 'too-many-pixels', `the image is ${width}x${height} = ${width * height} pixels; the limit is ${maxPixels}`);
}

async function handlePredict(loader: ClassifierLoader, req: IncomingMessage, options: ServeOptions): Promise<Reply | Gone> {
  if (!acceptedContentType(req.headers['content-type']))
    return error(415, 'unsupported-media-type', `content-type ${req.headers['content-type']} is not an image; send image/* or application/octet-stream`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > options.maxBytes) return error(413, 'too-large', `the body is ${declared} bytes; the limit is ${options.maxBytes}`);
  const body = await readBody(req, options.maxBytes);
  if ('status' in body) return body;
  if (body.kind === 'too-large') return error(413, 'too-large', `the body is over the limit of ${options.maxBytes} bytes`);
  const bomb = await tooManyPixels(body.body, options.maxPixels);
  if (bomb) return bomb;
  const result = await loader.predict(body.body);
  if (!result.ok) return error(result.problem.reason === 'empty-image' ? 400 : 422, result.problem.reason, result.problem.message);
  return { status: 200, body: { ...result.prediction, model_version: loader.version } };
}

async function route(loader: ClassifierLoader, req: IncomingMessage, options: ServeOptions): Promise<Reply | Gone> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return error(405, 'method-not-allowed', 'use GET /health');
    return { status: 200, body: { status: 'ok', model_version: loader.version, input_size: loader.sidecar.input_size, parts: loader.sidecar.labels.parts.length, colors: loader.sidecar.labels.part_only ? 0 : loader.sidecar.labels.colors.length } };
  }
  if (path === '/predict') {
    if (req.method !== 'POST') return error(405, 'method-not-allowed', 'use POST /predict with the image bytes as the body');
    return handlePredict(loader, req, options);
  }
  return error(404, 'not-found', `no route ${req.method} ${path}; try POST /predict or GET /health`);
}

/** An http.Server (not yet listening) answering with `loader`. */
export function createPredictServer(loader: ClassifierLoader, options: ServeOptions): Server {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // How often Node looks for requests past those limits (its default, 30 s, would let them run long over).
      connectionsCheckingInterval: Math.max(100, Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 4),
    },
    (req, res) => {
      const t0 = performance.now();
      handling.set(req.socket, req);
      res.on('close', () => handling.delete(req.socket));
      const line = (what: string | number) => options.log?.(`${req.method} ${req.url} ${what} ${(performance.now() - t0).toFixed(1)}ms`);
      route(loader, req, options)
        .catch((e: unknown): Reply => {
          // A bug, not bad input: say so, keep serving.
          console.error(e);
          return error(500, 'internal', (e as Error).message);
        })
        .then((reply) => {
          if (reply.status === 'gone') return line(reply.what);
          // A request not read to its end (413) cannot be followed by another on this connection.
          const unread = !req.complete;
          send(res, reply, unread ? { connection: 'close' } : {});
          line(reply.status);
        });
    },
  );
  // Failures Node reports on the connection: a request that was being read took too long (its
  // own log line says so), or one that never reached the handler (headers too slow, malformed).
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => {
    const req = handling.get(socket);
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') {
      if (!req) options.log?.(`client aborted the connection (${e.code})`);
      socket.destroy();
      return;
    }
    if (req) {
      // Its own log line tells what happened to it.
      if (e.code === 'ERR_HTTP_REQUEST_TIMEOUT') timedOut.add(req);
    } else options.log?.(e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request timeout: the client did not send its request headers in time' : `bad request (${e.code ?? e.message})`);
    const status = e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}

/** Starts listening; resolves with the actual port (useful with port 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
