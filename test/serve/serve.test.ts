// `pipeline serve` as a real process, exercised with real HTTP requests (node fetch).
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import sharp from 'sharp';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, makeFixture, type Fixture } from '../inference/fixture.ts';

let fx: Fixture;
let server: ChildProcess;
let base: string;
let output = '';

/** Starts `pipeline serve --port 0` and waits for the line naming its address. */
async function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/inference/command-runner.ts', 'serve', ...args], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  const from = output.length;
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /on (http:\/\/[\d.]+:\d+)/.exec(output.slice(from));
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)));
  });
  return { child, url };
}

beforeAll(async () => {
  fx = await makeFixture();
  // The fixture's images are 40x30 and 50x50: a 2600-pixel cap lets them through.
  const started = await startServer(['--model', fx.modelDir, '--port', '0', '--max-bytes', '20000', '--max-pixels', '2600', '--threads', '1']);
  server = started.child;
  base = started.url;
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

/** The server's output since `from`, once it matches `pattern`. */
async function waitForOutput(from: number, pattern: RegExp): Promise<string> {
  // A bound for a hung test only: the line comes as soon as the server sees the event.
  for (let i = 0; i < 400 && !pattern.test(output.slice(from)); i++) await new Promise((r) => setTimeout(r, 50));
  expect(output.slice(from)).toMatch(pattern);
  return output.slice(from);
}

const post = (body: Uint8Array | undefined, contentType?: string) =>
  fetch(`${base}/predict`, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

describe('pipeline serve', () => {
  it('listens on 127.0.0.1 by default', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('GET /health answers ok with the model version from the sidecar', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>; // any: JSON from the wire, checked field by field below
    const sidecar = JSON.parse(await readFile(join(fx.modelDir, 'model.json'), 'utf8'));
    expect(body).toMatchObject({ status: 'ok', model_version: sidecar.version, input_size: 32, parts: LABELS.parts.length });
  });

  it('POST /predict with PNG bytes returns the prediction as JSON', async () => {
    const res = await post(await readFile(fx.pngFile), 'image/png');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as Record<string, any>; // any: JSON from the wire, checked field by field below
    expect(LABELS.parts).toContain(body.part_id);
    expect(LABELS.colors.map((c) => c.id)).toContain(body.color_id);
    expect(body.top5).toHaveLength(5);
    expect(body.part_confidence).toBeGreaterThan(0);
    expect(body.part_confidence).toBeLessThanOrEqual(1);
  });

  it('answers concurrent requests, each with the prediction for its own image', async () => {
    const png = await readFile(fx.pngFile);
    const jpg = await readFile(fx.jpegFile);
    const alone = await Promise.all([post(png, 'image/png'), post(jpg, 'image/jpeg')].map(async (r) => (await r).json()));
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i % 2 ? jpg : png, i % 2 ? 'image/jpeg' : 'image/png')));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    bodies.forEach((b, i) => expect(b).toEqual(alone[i % 2]));
  });

  it.each([
    ['an empty body', () => post(new Uint8Array(0), 'image/png'), 400, 'empty-image'],
    ['bytes that are not an image', async () => post(await readFile(fx.notImageFile), 'application/octet-stream'), 422, 'not-an-image'],
    ['a wrong content type', async () => post(await readFile(fx.pngFile), 'application/json'), 415, 'unsupported-media-type'],
    ['a body over --max-bytes', () => post(new Uint8Array(50_000).fill(7), 'image/jpeg'), 413, 'too-large'],
    ['GET on /predict', () => fetch(`${base}/predict`), 405, 'method-not-allowed'],
    ['an unknown path', () => fetch(`${base}/nope`), 404, 'not-found'],
  ])('rejects %s with a 4xx JSON error and keeps serving', async (_what, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, any>; // any: JSON from the wire, checked field by field below
    expect(body.error).toBe(code);
    expect(typeof body.message).toBe('string');
    const after = await post(await readFile(fx.jpegFile), 'image/jpeg');
    expect(after.status).toBe(200);
  });

  it('rejects an oversized body sent without a content-length (chunked) too', async () => {
    const big = new Uint8Array(30_000).fill(1);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(big.subarray(0, 15_000));
        c.enqueue(big.subarray(15_000));
        c.close();
      },
    });
    const res = await fetch(`${base}/predict`, { method: 'POST', body: stream, headers: { 'content-type': 'image/png' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('rejects an image of more pixels than --max-pixels with 422, before decoding it', async () => {
    const png = await sharp({ create: { width: 60, height: 60, channels: 3, background: '#808080' } }).png().toBuffer();
    const res = await post(png, 'image/png');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: 'too-many-pixels', message: 'the image is 60x60 = 3600 pixels; the limit is 2600' });
  });

  it('answers 413 to a chunked body as soon as it passes --max-bytes, without reading the rest', async () => {
    // The client sends 30 kB and then waits for an answer before sending more: a server that
    // read the whole body before answering would never answer.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png', 'transfer-encoding': 'chunked' } }, (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(new Uint8Array(30_000).fill(1));
    });
    expect(status).toBe(413);
  });

  it('logs a client that aborts its upload as an abort, not as a 500 with a stack', async () => {
    const before = output.length;
    await new Promise<void>((resolve) => {
      const req = request(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': '10000' } });
      req.on('error', () => resolve());
      req.write(new Uint8Array(100), () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    const logged = await waitForOutput(before, /POST \/predict client (aborted|closed the connection) after \d+ bytes of the body/);
    expect(logged).not.toMatch(/ 500 |Error:|\n\s+at /);
  });

  it('closes a request whose body stops coming, after --request-timeout-ms, and logs it as a timeout', async () => {
    // Its own server: the short timeout must not touch the other tests' requests.
    const slow = await startServer(['--model', fx.modelDir, '--port', '0', '--headers-timeout-ms', '500', '--request-timeout-ms', '500', '--threads', '1']);
    try {
      const before = output.length;
      const ended = await new Promise<string>((resolve) => {
        const req = request(`${slow.url}/predict`, { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': '10000' } }, (res) => resolve(`status ${res.statusCode}`));
        req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
        req.write(new Uint8Array(100)); // and then nothing
      });
      expect(ended).toMatch(/status 408|error ECONNRESET|error EPIPE/);
      const logged = await waitForOutput(before, /POST \/predict request timeout: the client did not send its request in time after 100 bytes of the body/);
      expect(logged).not.toMatch(/ 500 |Error:|\n\s+at /);
    } finally {
      const exited = new Promise((r) => slow.child.once('exit', r));
      slow.child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses a bad --port with exit code 2 and usage', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/inference/command-runner.ts', 'serve', '--port', 'eighty'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--port must be a whole number/);
  });
});
