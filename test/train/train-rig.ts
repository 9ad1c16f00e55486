/**
 * The train stage's test rig: a synthetic augment cache, tiny training params, and a
 * project with only the train stage under the engine (shared by the stage and warm-start tests).
 */
import { createHash } from 'node:crypto';
import { cpSync, symlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { CACHE_FORMAT } from '../../src/ml/augment/cache-key.ts';
import { syntheticSplit } from './synthetic-split.ts';
import { TestProject } from '../helpers/project-rig.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const SIZE = 16;

/** An augment cache in the format src/ml/augment-cache-reader.ts reads, from synthetic shapes (`trainN` train images). */
export async function writeCache(dir: string, size: number, trainN = 64): Promise<void> {
  await mkdir(dir, { recursive: true });
  const splits: Record<string, unknown> = {};
  for (const [name, n, seed] of [['train', trainN, 1], ['val', 16, 2], ['test', 8, 3]] as const) {
    const s = syntheticSplit(n, size, seed, { sources: ['legacy', 'real'] });
    await writeFile(join(dir, `${name}.u8`), s.images);
    splits[name] = { file: `${name}.u8`, n, height: size, width: size, part_index: Array.from(s.partIndex), color_index: Array.from(s.colorIndex), source: s.source, weight: Array.from(s.weight), path: s.path };
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({ format: CACHE_FORMAT, input_size: size, variants: 1, augment_params: 'test', splits }));
  await writeFile(join(dir, 'labels.json'), JSON.stringify(LABELS));
}

const LABELS = { parts: ['square', 'disc', 'bar', 'cross'], colors: [{ id: 4, name: 'Red', rgb: 'C91A09' }, { id: 2, name: 'Green', rgb: '237841' }, { id: 1, name: 'Blue', rgb: '0055BF' }] };

/**
 * The filter stage's output (artifacts/dataset) behind writeCache's train split: the same
 * synthetic images as PNG files (un-augmented) under `root`, with manifest.jsonl and labels.json.
 */
export async function writeDataset(root: string, size: number, trainN = 64): Promise<void> {
  const dir = join(root, 'artifacts/dataset');
  await mkdir(join(root, 'data/fit'), { recursive: true });
  await mkdir(dir, { recursive: true });
  const s = syntheticSplit(trainN, size, 1, { sources: ['legacy', 'real'] });
  const bytes = size * size * 3;
  const lines: string[] = [];
  for (let i = 0; i < trainN; i++) {
    const png = await sharp(s.images.subarray(i * bytes, (i + 1) * bytes), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
    const path = `data/fit/${s.source[i]}-${i}.png`;
    await writeFile(join(root, path), png);
    const color = s.colorIndex[i]! >= 0 ? LABELS.colors[s.colorIndex[i]!]!.id : 9999;
    lines.push(JSON.stringify({ path, sha256: createHash('sha256').update(png).digest('hex'), source: s.source[i], part_id: LABELS.parts[s.partIndex[i]!], color_id: color, split: 'train', width: size, height: size }));
  }
  await writeFile(join(dir, 'manifest.jsonl'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'labels.json'), JSON.stringify(LABELS));
}

export function params(overrides: { training?: object; model?: object } = {}) {
  return {
    'config/training.yaml': {
      profile: 'test', backend: 'auto',
      model: { architecture: 'multitask', input_size: SIZE, width: 0.25, depth: 0.2, drop_connect_rate: 0, bn_momentum: 0.5, head_units: 16, head_dropout: 0.1, freeze_backbone_ratio: 0.5, pretrained: null, profiles: { test: overrides.model ?? {} } },
      training: { epochs: 2, batch_size: 16, epoch_size: 32, lr: 0.01, min_lr: 0.0001, warmup_epochs: 1, weight_decay: 0.01, patience: 5, seed: 1, profiles: { test: overrides.training ?? {} } },
      loss: { label_smoothing: 0.1, part_weight: 1, color_weight: 0.5 },
      curriculum: { enabled: true, plan_epochs: 30, phases: [{ from_epoch: 0, to_epoch: 30, mix: { legacy: 0.5, real: 0.5 } }] },
    },
  };
}

/** A project whose one stage is train, reading `trainYaml` (JSON is YAML) and a cache of `trainN` train images. */
export async function trainProject(trainYaml: string, trainN = 64): Promise<TestProject> {
  const p = TestProject.create({
    'pipeline.yaml': `stages:
  train:
    run: stages/train.ts
    deps: [artifacts/augment-cache]
    params: {config/training.yaml: [profile, model, training, loss, curriculum, backend]}
    outs: [artifacts/model, {path: artifacts/train-state, persist: true}]
    metrics: artifacts/metrics/train.json
`,
    'config/training.yaml': `${trainYaml}\n`,
  });
  for (const dir of ['src', 'schemas']) cpSync(join(REPO, dir), p.path(dir), { recursive: true });
  cpSync(join(REPO, 'stages/train.ts'), p.path('stages/train.ts'));
  symlinkSync(join(REPO, 'node_modules'), p.path('node_modules'));
  await writeCache(p.path('artifacts/augment-cache'), SIZE, trainN);
  return p;
}
