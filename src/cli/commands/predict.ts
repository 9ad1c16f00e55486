// `pipeline predict IMG...`: part and color of each image with the exported ONNX model.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultModelDir } from '../../serve/model-dir.ts';

export const summary = 'predict part and color of image files with the exported model (artifacts/onnx)';

const USAGE = `usage: pipeline predict IMG... [--model DIR] [--json] [--threads N]
  --model DIR    the exported model folder (default: artifacts/onnx of the project)
  --json         one JSON object per image instead of text
  --threads N    onnxruntime threads (default 0 = all cores)`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { model: { type: 'string' }, json: { type: 'boolean', default: false }, threads: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`pipeline predict: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const threads = Number(args.values.threads);
  if (args.positionals.length === 0 || !Number.isInteger(threads) || threads < 0) {
    console.error(`pipeline predict: ${args.positionals.length === 0 ? 'no image given' : `--threads must be a whole number >= 0, got ${args.values.threads}`}\n${USAGE}`);
    return 2;
  }
  // Heavy imports (onnxruntime, sharp) only once we know there is work.
  const { ClassifierLoader } = await import('../../ml/inference.ts');
  const loaded = await ClassifierLoader.load(args.values.model ?? defaultModelDir(), { threads });
  if (!loaded.ok) {
    console.error(`pipeline predict: ${loaded.message}`);
    return 1;
  }
  const loader = loaded.loader;
  let failures = 0;
  for (const file of args.positionals) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      failures++;
      report(args.values.json, file, { error: 'unreadable', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
      continue;
    }
    const result = await loader.predict(bytes);
    if (!result.ok) {
      failures++;
      report(args.values.json, file, { error: result.problem.reason, message: result.problem.message });
      continue;
    }
    const p = result.prediction;
    if (args.values.json) console.log(JSON.stringify({ file, ...p, model_version: loader.version }));
    else {
      const top = p.top5.map((t) => `${t.part_id} ${(t.confidence * 100).toFixed(1)}%`).join(', ');
      const color = p.color_confidence === null ? 'color n/a (part-only model)' : `color ${p.color_id} ${p.color_name} (${(p.color_confidence * 100).toFixed(1)}%)`;
      console.log(`${file}: part ${p.part_id} (${(p.part_confidence * 100).toFixed(1)}%), ${color}; top-5: ${top}`);
    }
  }
  await loader.close();
  return failures > 0 ? 1 : 0;
}

function report(json: boolean | undefined, file: string, problem: { error: string; message: string }): void {
  if (json) console.log(JSON.stringify({ file, ...problem }));
  else console.error(`${file}: ${problem.message}`);
}
