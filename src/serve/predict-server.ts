// The HTTP service for the sorter app: POST /predict (image bytes -> JSON prediction), GET /health (model version).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ClassifierLoader } from '../ml/inference.ts';

export interface ServeOptions {
  /** Largest accepted body in bytes. */
  maxBytes: number;
  /** Called with one line per request (method, path, status, ms); silent when absent. */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** Bodies we accept: any image type, or raw bytes with no claim about them. */
function acceptedContentType(header: string | undefined): boolean {
  if (!header) return true; // curl --data-binary without -H sends none worth trusting; sharp decides
  const type = header.split(';')[0].trim().toLowerCase();
  return type.startsWith('image/') || type === 'application/octet-stream';
}

type Reply = { status: number; body: Record<string, unknown> };

const error = (status: number, code: string, message: string): Reply => ({ status, body: { error: code, message } });

function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/** Reads the whole body, or stops counting at `maxBytes` + 1 and reports it too large. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ ok: true; body: Buffer } | { ok: false; tooLarge: true }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) over = true;
      // Keep reading (and dropping) so the client gets our answer rather than a reset.
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? { ok: false, tooLarge: true } : { ok: true, body: Buffer.concat(chunks) }));
    req.on('error', reject);
  });
}

async function handlePredict(loader: ClassifierLoader, req: IncomingMessage, options: ServeOptions): Promise<Reply> {
  if (!acceptedContentType(req.headers['content-type']))
    return error(415, 'unsupported-media-type', `content-type ${req.headers['content-type']} is not an image; send image/* or application/octet-stream`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > options.maxBytes) {
    req.resume();
    return error(413, 'too-large', `the body is ${declared} bytes; the limit is ${options.maxBytes}`);
  }
  const body = await readBody(req, options.maxBytes);
  if (!body.ok) return error(413, 'too-large', `the body is over the limit of ${options.maxBytes} bytes`);
  const result = await loader.predict(body.body);
  if (!result.ok) return error(result.problem.reason === 'empty-image' ? 400 : 422, result.problem.reason, result.problem.message);
  return { status: 200, body: { ...result.prediction, model_version: loader.version } };
}

async function route(loader: ClassifierLoader, req: IncomingMessage, options: ServeOptions): Promise<Reply> {
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
  return createServer((req, res) => {
    const t0 = performance.now();
    route(loader, req, options)
      .catch((e: unknown) => {
        // A bug, not bad input: say so, keep serving.
        console.error(e);
        return error(500, 'internal', (e as Error).message);
      })
      .then((reply) => {
        // After an early 413 the rest of the body is not read: close rather than reuse the socket.
        send(res, reply, reply.status === 413 ? { connection: 'close' } : {});
        options.log?.(`${req.method} ${req.url} ${reply.status} ${(performance.now() - t0).toFixed(1)}ms`);
      });
  });
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
