// Reading the config: YAML text → validated DesiredState (parseConfig), and a file on disk
// (loadConfig), whose folder anchors relative secret paths. Both throw; nothing is half-applied.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { EdgelbError } from '../lib/errors.js';
import { validateConfig, type LoadedConfig, type ValidateOptions } from './validate.js';

export type { LoadedConfig, ValidateOptions };
export type LoadOptions = Omit<ValidateOptions, 'source' | 'baseDir'>;

/**
 * Parse YAML text and validate it. Throws EdgelbError EDGELB_ERR_CONFIG_READ when the text is not
 * YAML (with line and column), or ConfigError (EDGELB_ERR_CONFIG_INVALID) listing every issue.
 */
export function parseConfig(text: string, opts: ValidateOptions = {}): LoadedConfig {
  const source = opts.source ?? 'config';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `  ${e.message.split('\n')[0]}`);
    throw new EdgelbError('EDGELB_ERR_CONFIG_READ', `${source} is not valid YAML:\n${lines.join('\n')}`);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  return validateConfig(raw, { ...opts, source });
}

/** Read and validate a config file; relative secret paths resolve against the file's folder. */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new EdgelbError('EDGELB_ERR_CONFIG_READ', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseConfig(text, { ...opts, source: path, baseDir: dirname(path) });
}
