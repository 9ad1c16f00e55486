/**
 * config/training.yaml as the train stage receives it (the params the stage lists), checked
 * against schemas/training.schema.json, with the chosen profile's overrides merged in and
 * turned into the model's and the loop's typed configs.
 */
import { fileURLToPath } from 'node:url';
import { checkValues, placeIn, type ConfigRef } from '../../config/check-values.ts';
import type { BackendPreference } from '../backend/select-backend.ts';
import type { ClassifierConfig } from '../model/classifier.ts';
import type { TrainLoopConfig } from './train-loop.ts';
import type { WarmStartConfig } from './warm-start.ts';

const SCHEMA = fileURLToPath(new URL('../../../schemas/training.schema.json', import.meta.url));

type Section = Record<string, unknown> & { profiles?: Record<string, Record<string, unknown>> };

export interface ResolvedTrainingConfig {
  profile: string;
  backend: BackendPreference;
  model: Omit<ClassifierConfig, 'nParts' | 'nColors'> & { freezeBackboneRatio: number; pretrained: string | null };
  loop: TrainLoopConfig;
  warmStart: WarmStartConfig;
  /** The merged, snake_case values, for the metrics file and the checkpoint fingerprint. */
  effective: Record<string, unknown>;
}

export type ConfigResult = { ok: true; config: ResolvedTrainingConfig } | { ok: false; errors: string[] };

/** A section with `profiles[profile]` merged over its base values (and `profiles` removed). */
function withProfile(section: Section, profile: string, name: string, ref: ConfigRef, errors: string[]): Record<string, unknown> {
  const { profiles, ...base } = section;
  if (profiles && profile !== 'base' && !(profile in profiles)) errors.push(`${placeIn(ref, ['profile'])}: profile '${profile}' has no entry under ${name}.profiles (has: ${Object.keys(profiles).join(', ')})`);
  return { ...base, ...(profiles?.[profile] ?? {}) };
}

/** Check and resolve the train stage's params from `file` (e.g. config/training.yaml; `abs` finds its lines). */
export function resolveTrainingConfig(raw: unknown, file: string | ConfigRef): ConfigResult {
  const ref = typeof file === 'string' ? { name: file } : file;
  const schemaErrors = checkValues(raw, SCHEMA, ref);
  if (schemaErrors.length > 0) return { ok: false, errors: schemaErrors };
  const doc = raw as { profile?: string; backend?: BackendPreference; model: Section; training: Section; loss: Section; curriculum: Section };
  const profile = doc.profile ?? 'base';
  const errors: string[] = [];
  const m = withProfile(doc.model, profile, 'model', ref, errors);
  const t = withProfile(doc.training, profile, 'training', ref, errors);
  const lossValues = withProfile(doc.loss, profile, 'loss', ref, errors);
  if (doc.model.profiles?.[profile]?.['input_size'] !== undefined) {
    errors.push(`${placeIn(ref, ['model', 'profiles', profile, 'input_size'])}: model.profiles.${profile}.input_size: the input size is shared with augment-cache; set model.input_size instead`);
  }
  const missing = ['epochs', 'batch_size', 'lr'].filter((k) => t[k] === undefined);
  if (missing.length) errors.push(`${placeIn(ref, ['training'])}: training is missing ${missing.join(', ')}`);
  if (errors.length) return { ok: false, errors };
  const loss = lossValues as { label_smoothing: number; part_weight: number; color_weight: number; extra_source_weights?: Record<string, number>; color_sources?: string[] };
  const cur = doc.curriculum as { enabled: boolean; plan_epochs?: number; phases?: { from_epoch: number; to_epoch: number; mix: Record<string, number> }[] };
  const architecture = m['architecture'] as 'multitask' | 'two_models';
  const num = (o: Record<string, unknown>, k: string, d: number) => (typeof o[k] === 'number' ? (o[k] as number) : d);
  const config: ResolvedTrainingConfig = {
    profile,
    backend: doc.backend ?? 'auto',
    model: {
      inputSize: num(m, 'input_size', 64),
      widthCoefficient: num(m, 'width', 1),
      depthCoefficient: num(m, 'depth', 1),
      dropConnectRate: num(m, 'drop_connect_rate', 0.2),
      bnMomentum: num(m, 'bn_momentum', 0.99),
      headUnits: num(m, 'head_units', 512),
      headDropout: num(m, 'head_dropout', 0.3),
      architecture,
      partGrayscale: m['part_grayscale'] === true,
      freezeBackboneRatio: num(m, 'freeze_backbone_ratio', 0),
      pretrained: typeof m['pretrained'] === 'string' ? (m['pretrained'] as string) : null,
    },
    loop: {
      epochs: num(t, 'epochs', 1),
      batchSize: num(t, 'batch_size', 32),
      epochSize: typeof t['epoch_size'] === 'number' ? (t['epoch_size'] as number) : undefined,
      lr: num(t, 'lr', 1e-4),
      minLr: num(t, 'min_lr', 0),
      warmupEpochs: num(t, 'warmup_epochs', 0),
      weightDecay: num(t, 'weight_decay', 0),
      patience: num(t, 'patience', 5),
      seed: num(t, 'seed', 1),
      workers: typeof t['workers'] === 'number' ? (t['workers'] as number) : 'auto',
      loss: { labelSmoothing: loss.label_smoothing, partWeight: loss.part_weight, colorWeight: loss.color_weight },
      weighting: { sourceWeights: loss.extra_source_weights ?? {}, colorSources: architecture === 'two_models' ? loss.color_sources : undefined },
      curriculum: {
        enabled: cur.enabled && (cur.phases?.length ?? 0) > 0,
        planEpochs: cur.plan_epochs ?? 30,
        phases: (cur.phases ?? []).map((p) => ({ fromEpoch: p.from_epoch, toEpoch: p.to_epoch, mix: p.mix })),
      },
    },
    warmStart: {
      when: (t['warm_start'] as { when?: WarmStartConfig['when'] } | undefined)?.when ?? 'never',
      epochs: (t['warm_start'] as { epochs?: number } | undefined)?.epochs ?? 3,
    },
    effective: { profile, model: m, training: t, loss: lossValues, curriculum: doc.curriculum },
  };
  return { ok: true, config };
}
