/**
 * Picks the fastest tfjs backend that works on this machine (tfjs-node-gpu > tfjs-node >
 * wasm > cpu), honouring a preference from config or the BRICKFLOW_BACKEND env variable,
 * and says which one runs and why. Model code never needs to know the answer.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** One candidate that was tried, and what happened. */
export interface BackendAttempt {
  candidate: string;
  outcome: 'chosen' | 'unavailable' | 'skipped';
  detail: string;
}

export interface BackendChoice {
  /** The tfjs backend name now active: 'tensorflow' (tfjs-node / -gpu), 'wasm' or 'cpu'. */
  backend: 'tensorflow' | 'wasm' | 'cpu';
  /** The package that provides it, e.g. '@tensorflow/tfjs-node-gpu'. */
  package: string;
  /** Threads the backend computes with (1 for cpu and for wasm in Node). */
  threads: number;
  /** Where the preference came from. */
  preference: BackendPreference;
  preferenceSource: 'env BRICKFLOW_BACKEND' | 'config' | 'default';
  /** One sentence for the log. */
  reason: string;
  attempts: BackendAttempt[];
}

/** The requested backend cannot run here (forced by config or env, but not installed or failed). */
export class BackendUnavailableError extends Error {
  constructor(
    readonly preference: BackendPreference,
    readonly attempts: BackendAttempt[],
  ) {
    super(
      `backend '${preference}' was requested but cannot run here: ` +
        attempts.map((a) => `${a.candidate}: ${a.detail}`).join('; '),
    );
    this.name = 'BackendUnavailableError';
  }
}

/** BRICKFLOW_BACKEND (or the config) holds a value that is not a backend. */
export class BadBackendPreferenceError extends Error {
  constructor(readonly value: string, readonly source: string) {
    super(`${source}: '${value}' is not a backend; use one of ${BACKEND_PREFERENCES.join(', ')}`);
    this.name = 'BadBackendPreferenceError';
  }
}

export interface SelectBackendOptions {
  /** Where the log line goes; default console.log. Pass null for silence. */
  log?: ((line: string) => void) | null;
  /** Environment to read BRICKFLOW_BACKEND from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface Candidate {
  name: string;
  backend: BackendChoice['backend'];
  /** Makes the backend available and active; throws with the reason when it cannot. */
  activate: () => Promise<number>;
}

/** Imports an optional package by a name TypeScript cannot see, so a missing one is not a type error. */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

async function activate(backend: string): Promise<void> {
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tf.setBackend('${backend}') failed to initialise`);
  await tf.ready();
}

const CANDIDATES: Record<'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu', Candidate> = {
  'tfjs-node-gpu': {
    name: '@tensorflow/tfjs-node-gpu',
    backend: 'tensorflow',
    activate: async () => {
      await importOptional('@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
      return 0; // libtensorflow picks its own thread pools
    },
  },
  'tfjs-node': {
    name: '@tensorflow/tfjs-node',
    backend: 'tensorflow',
    activate: async () => {
      await importOptional('@tensorflow/tfjs-node');
      await activate('tensorflow');
      return 0;
    },
  },
  wasm: {
    name: '@tensorflow/tfjs-backend-wasm',
    backend: 'wasm',
    activate: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
      await activate('wasm');
      return wasm.getThreadsCount();
    },
  },
  cpu: {
    name: '@tensorflow/tfjs-backend-cpu',
    backend: 'cpu',
    activate: async () => {
      await activate('cpu');
      return 1;
    },
  },
};

const ORDER: Record<BackendPreference, (keyof typeof CANDIDATES)[]> = {
  auto: ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'],
  tensorflow: ['tfjs-node-gpu', 'tfjs-node'],
  wasm: ['wasm'],
  cpu: ['cpu'],
};

function parsePreference(value: string, source: string): BackendPreference {
  const v = value.trim().toLowerCase();
  if ((BACKEND_PREFERENCES as readonly string[]).includes(v)) return v as BackendPreference;
  throw new BadBackendPreferenceError(value, source);
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 200);
}

/**
 * Activates the best backend allowed by the preference. BRICKFLOW_BACKEND overrides the
 * config's preference. 'auto' falls through to the next candidate on failure; a forced
 * preference that cannot run throws BackendUnavailableError rather than silently training
 * 100x slower than asked.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendChoice> {
  const env = options.env ?? process.env;
  const log = options.log === undefined ? (l: string) => console.log(l) : options.log;
  const fromEnv = env.BRICKFLOW_BACKEND?.trim();
  const chosenPref = fromEnv ? parsePreference(fromEnv, 'env BRICKFLOW_BACKEND') : parsePreference(preference, 'config backend');
  const preferenceSource: BackendChoice['preferenceSource'] = fromEnv
    ? 'env BRICKFLOW_BACKEND'
    : preference === 'auto'
      ? 'default'
      : 'config';

  const attempts: BackendAttempt[] = [];
  for (const key of ORDER[chosenPref]) {
    const c = CANDIDATES[key];
    try {
      const threads = await c.activate();
      attempts.push({ candidate: c.name, outcome: 'chosen', detail: 'initialised' });
      const skipped = attempts.filter((a) => a.outcome === 'unavailable').map((a) => `${a.candidate} (${a.detail})`);
      const reason =
        `${chosenPref === 'auto' ? 'best available' : `forced by ${preferenceSource}`}` +
        (skipped.length ? `; not available: ${skipped.join(', ')}` : '');
      const choice: BackendChoice = {
        backend: c.backend,
        package: c.name,
        threads: threads > 0 ? threads : 1,
        preference: chosenPref,
        preferenceSource,
        reason,
        attempts,
      };
      log?.(`backend: ${choice.backend} via ${choice.package}, ${choice.threads} thread(s) — ${reason}`);
      return choice;
    } catch (e) {
      attempts.push({ candidate: c.name, outcome: 'unavailable', detail: firstLine(e) });
    }
  }
  throw new BackendUnavailableError(chosenPref, attempts);
}
