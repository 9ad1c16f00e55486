// `pipeline schema [NAME]`: the JSON Schemas brickflow checks its YAML files against, for
// editors and other tools. Without NAME it lists them; the list is whatever schemas/ holds.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const summary = 'list the JSON Schemas of pipeline.yaml and the config files, or print one (schema NAME)';

const SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const SUFFIX = '.schema.json';
const USAGE = 'usage: pipeline schema [NAME]   (NAME as listed by `pipeline schema`, e.g. pipeline)';

export function schemaNames(): string[] {
  return readdirSync(SCHEMAS_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${summary}\n${USAGE}`);
    return 0;
  }
  if (argv.length > 1 || argv.some((a) => a.startsWith('-'))) {
    console.error(`error: unexpected arguments "${argv.join(' ')}"\n${USAGE}`);
    return 2;
  }
  const names = schemaNames();
  if (argv.length === 0) {
    for (const name of names) {
      const schema = JSON.parse(readFileSync(`${SCHEMAS_DIR}${name}${SUFFIX}`, 'utf8')) as { title?: string };
      console.log(`${name.padEnd(12)} schemas/${name}${SUFFIX}${schema.title ? `  ${schema.title}` : ''}`);
    }
    return 0;
  }
  // "data", "data.schema.json" and "schemas/data.schema.json" all name the same schema.
  const name = argv[0]!.replace(/^schemas\//, '').replace(SUFFIX, '');
  if (!names.includes(name)) {
    console.error(`error: no schema named "${argv[0]}" (there are: ${names.join(', ')})`);
    return 2;
  }
  process.stdout.write(readFileSync(`${SCHEMAS_DIR}${name}${SUFFIX}`, 'utf8'));
  return 0;
}
