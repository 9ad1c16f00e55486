// config/export.yaml's `export` section: checked against schemas/export.schema.json, which
// also supplies every default, and typed for the export stage.
import { fileURLToPath } from 'node:url';
import { checkValues, type ConfigRef } from '../../config/check-values.ts';
import type { ExportSettings } from './export-classifier.ts';

const SCHEMA = fileURLToPath(new URL('../../../schemas/export.schema.json', import.meta.url));

export interface ExportConfig extends ExportSettings {
  parity: ExportSettings['parity'] & { backend: 'cpu' | 'wasm' };
  quantize: { int8_weights: boolean };
}

export type ExportConfigResult = { ok: true; config: ExportConfig } | { ok: false; errors: string[] };

/** The raw `export` value with the schema's defaults filled in, or what is wrong with it. */
export function parseExportConfig(raw: unknown, ref: ConfigRef): ExportConfigResult {
  const value = { export: structuredClone(raw ?? {}) as unknown };
  const errors = checkValues(value, SCHEMA, ref);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config: value.export as ExportConfig };
}
