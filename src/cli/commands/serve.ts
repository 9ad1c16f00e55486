// `pipeline serve`: the HTTP prediction service for the sorter app, on localhost unless told otherwise.
import { parseArgs } from 'node:util';
import { defaultModelDir } from '../../serve/model-dir.ts';
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_REQUEST_TIMEOUT_MS } from '../../serve/limits.ts';

export const summary = 'serve the exported model over HTTP (POST /predict, GET /health), on 127.0.0.1:8080 by default';

const USAGE = `usage: pipeline serve [--port N] [--host ADDR] [--model DIR] [--max-bytes N] [--max-pixels N]
                      [--headers-timeout-ms N] [--request-timeout-ms N] [--threads N] [--quiet]
  --port N                default 8080 (0 = any free port)
  --host ADDR             default 127.0.0.1; 0.0.0.0 exposes the service to the network
  --model DIR             the exported model folder (default: artifacts/onnx of the project)
  --max-bytes N           largest body accepted, bytes (default ${DEFAULT_MAX_BYTES}; 413 past it)
  --max-pixels N          largest image accepted, width x height (default ${DEFAULT_MAX_PIXELS}; 422 past it)
  --headers-timeout-ms N  time a client has to send its request headers (default ${DEFAULT_HEADERS_TIMEOUT_MS})
  --request-timeout-ms N  time a client has to send its whole request (default ${DEFAULT_REQUEST_TIMEOUT_MS})
  --threads N             onnxruntime threads (default 0 = all cores)
See docs/serving.md.`;

function wholeNumber(text: string, name: string, max = Number.MAX_SAFE_INTEGER): number | string {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= max ? n : `--${name} must be a whole number from 0 to ${max}, got ${text}`;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        model: { type: 'string' },
        'max-bytes': { type: 'string', default: String(DEFAULT_MAX_BYTES) },
        'max-pixels': { type: 'string', default: String(DEFAULT_MAX_PIXELS) },
        'headers-timeout-ms': { type: 'string', default: String(DEFAULT_HEADERS_TIMEOUT_MS) },
        'request-timeout-ms': { type: 'string', default: String(DEFAULT_REQUEST_TIMEOUT_MS) },
        threads: { type: 'string', default: '0' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`pipeline serve: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = wholeNumber(args.values.port, 'port', 65535);
  const maxBytes = wholeNumber(args.values['max-bytes'], 'max-bytes');
  const maxPixels = wholeNumber(args.values['max-pixels'], 'max-pixels');
  const headersTimeoutMs = wholeNumber(args.values['headers-timeout-ms'], 'headers-timeout-ms');
  const requestTimeoutMs = wholeNumber(args.values['request-timeout-ms'], 'request-timeout-ms');
  const threads = wholeNumber(args.values.threads, 'threads');
  for (const v of [port, maxBytes, maxPixels, headersTimeoutMs, requestTimeoutMs, threads])
    if (typeof v === 'string') {
      console.error(`pipeline serve: ${v}\n${USAGE}`);
      return 2;
    }
  if ((headersTimeoutMs as number) > (requestTimeoutMs as number)) {
    console.error(`pipeline serve: --headers-timeout-ms (${headersTimeoutMs}) must not exceed --request-timeout-ms (${requestTimeoutMs})\n${USAGE}`);
    return 2;
  }
  const { ClassifierLoader } = await import('../../ml/inference.ts');
  const { createPredictServer, listen } = await import('../../serve/predict-server.ts');
  const loaded = await ClassifierLoader.load(args.values.model ?? defaultModelDir(), { threads: threads as number });
  if (!loaded.ok) {
    console.error(`pipeline serve: ${loaded.message}`);
    return 1;
  }
  const loader = loaded.loader;
  const server = createPredictServer(loader, {
    maxBytes: maxBytes as number,
    maxPixels: maxPixels as number,
    headersTimeoutMs: headersTimeoutMs as number,
    requestTimeoutMs: requestTimeoutMs as number,
    log: args.values.quiet ? undefined : (l) => console.log(l),
  });
  let actualPort: number;
  try {
    actualPort = await listen(server, port as number, args.values.host);
  } catch (e) {
    console.error(`pipeline serve: cannot listen on ${args.values.host}:${port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    await loader.close();
    return 1;
  }
  console.log(`serving model ${loader.version} on http://${args.values.host}:${actualPort} (POST /predict, GET /health); Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await loader.close();
  console.log('stopped');
  return 0;
}
