// The `remotes:` of a project: pipeline.yaml's section (committed, shared by the team),
// overridden field by field by `.pipeline/config.yaml` (this machine's, git-ignored), both
// checked against their JSON Schemas with file:line:col in every error. Credentials never
// appear here: S3 takes them from the environment / AWS config files, SSH from ~/.ssh.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ConfigFile } from '../../config/load-config.ts';
import type { Diagnostic, Location, Result } from '../diagnostic.ts';
import type { RemoteSpec } from './object-store.ts';

const PIPELINE_SCHEMA = fileURLToPath(new URL('../../../schemas/pipeline.schema.json', import.meta.url));
const LOCAL_SCHEMA = fileURLToPath(new URL('../../../schemas/local-config.schema.json', import.meta.url));

/** Where a machine's own settings live (never committed: .pipeline/ is git-ignored). */
export const LOCAL_CONFIG = '.pipeline/config.yaml';

const KNOWN_SCHEMES = /^(?:file|ssh|sftp|s3):\/\//i;

export interface RemotesConfig {
  /** The remote used unless `--remote NAME` / `--no-remote` say otherwise. */
  default?: string;
  remotes: Map<string, RemoteSpec>;
}

interface Section {
  file: ConfigFile;
  default?: string;
  remotes: Record<string, Partial<RemoteSpec>>;
}

/** Reads the remotes of the project whose pipeline file is `pipelineFile` (absolute). */
export function loadRemotes(root: string, pipelineFile: string): Result<RemotesConfig> {
  const shared = readSection(pipelineFile, shownName(pipelineFile), PIPELINE_SCHEMA);
  if (!shared.ok) return shared;
  const localFile = join(root, LOCAL_CONFIG);
  const local = existsSync(localFile) ? readSection(localFile, shownName(localFile), LOCAL_SCHEMA) : undefined;
  if (local && !local.ok) return local;

  const errors: Diagnostic[] = [];
  const remotes = new Map<string, RemoteSpec>();
  const names = new Set([...Object.keys(shared.value?.remotes ?? {}), ...Object.keys(local?.value?.remotes ?? {})]);
  for (const name of names) {
    const merged = { ...shared.value?.remotes[name], ...local?.value?.remotes[name] };
    // Said where the url (or, missing, the remote) is written: the file that set it last.
    const from = local?.value?.remotes[name]?.url !== undefined || shared.value?.remotes[name] === undefined ? local!.value! : shared.value!;
    const where = (key: boolean): Location => (key ? from.file.locateKey(['remotes', name]) : from.file.locate(['remotes', name, 'url']));
    if (merged.url === undefined) {
      errors.push({ message: `remote "${name}" has no url (set remotes.${name}.url in pipeline.yaml or ${LOCAL_CONFIG})`, location: where(true) });
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(merged.url) && !KNOWN_SCHEMES.test(merged.url)) {
      errors.push({ message: `remote "${name}": url ${merged.url} has a scheme no store understands; use a folder path, file://, ssh:// or s3://`, location: where(false) });
      continue;
    }
    remotes.set(name, merged as RemoteSpec);
  }
  const byLocal = local?.value?.default !== undefined;
  const defaultName = local?.value?.default ?? shared.value?.default;
  if (defaultName !== undefined && !remotes.has(defaultName) && errors.length === 0) {
    const file = (byLocal ? local!.value! : shared.value!).file;
    errors.push({ message: `remotes.default names "${defaultName}", which is not a configured remote (${[...remotes.keys()].join(', ') || 'there is none'})`, location: file.locate(['remotes', 'default']) });
  }
  if (errors.length > 0) return { ok: false, error: errors };
  return { ok: true, value: { remotes, ...(defaultName !== undefined ? { default: defaultName } : {}) } };
}

/**
 * The remote a command uses: `--no-remote` none, `--remote NAME` that one, else the default
 * (or the only remote when there is one and no default). An unknown NAME is a usage error.
 */
export function chooseRemote(config: RemotesConfig, opts: { remote?: string; noRemote?: boolean }): Result<{ name: string; spec: RemoteSpec } | undefined, string> {
  if (opts.noRemote) return { ok: true, value: undefined };
  const name = opts.remote ?? config.default ?? (config.remotes.size === 1 ? [...config.remotes.keys()][0] : undefined);
  if (name === undefined) return { ok: true, value: undefined };
  const spec = config.remotes.get(name);
  if (!spec) {
    const known = [...config.remotes.keys()].join(', ') || 'none is configured (remotes: in pipeline.yaml)';
    return { ok: false, error: `--remote ${name}: no such remote (known: ${known})` };
  }
  return { ok: true, value: { name, spec } };
}

function readSection(abs: string, name: string, schema: string): Result<Section | undefined> {
  const loaded = loadConfig(abs, name, { schema });
  if (!loaded.ok) return loaded;
  const data = (loaded.value.data ?? {}) as { remotes?: Record<string, unknown> };
  if (!data.remotes) return { ok: true, value: undefined };
  const { default: def, ...remotes } = data.remotes;
  return { ok: true, value: { file: loaded.value, remotes: remotes as Record<string, Partial<RemoteSpec>>, ...(typeof def === 'string' ? { default: def } : {}) } };
}

function shownName(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') ? rel : abs;
}
