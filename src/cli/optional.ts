// Loading a command's implementation that lives in another module (lab demo, cleanup) only when
// the command runs, with a clear error when this build does not have it.
import { EdgelbError } from '../lib/errors.js';

/**
 * Import `spec` (relative to this folder, e.g. '../lab/demo.js') and return its export `name`.
 * Throws EdgelbError EDGELB_ERR_INVALID_ARGUMENT naming the command when the module or the export
 * is missing; errors inside the module (its own missing dependencies) pass through unchanged.
 */
export async function importOptional<T>(spec: string, name: string, command: string): Promise<T> {
  const url = new URL(spec, import.meta.url);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const stem = url.pathname.replace(/\.js$/, '');
    if ((err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && err.message.includes(stem))
      throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `\`edgelb ${command}\` is not available in this build (module ${spec} is missing)`, { cause: e });
    throw e;
  }
  const fn = mod[name];
  if (fn === undefined)
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `\`edgelb ${command}\` is not available in this build (${spec} does not export ${name})`);
  return fn as T;
}
