// HTTP client of the daemon API for the CLI: one request, errors mapped to stable codes
// (no daemon → EDGELB_ERR_API_UNREACHABLE, 401 → EDGELB_ERR_API_UNAUTHORIZED, other → _RESPONSE).
import { EdgelbError, errorMessage } from '../lib/errors.js';

export const DEFAULT_API = 'http://127.0.0.1:11111';

export interface RequestOptions {
  method?: 'GET' | 'POST';
  token?: string;
  timeoutMs?: number;
}

function causeCode(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? errorMessage(e);
}

/** Call `base + path`; resolves with the parsed JSON body. */
export async function apiRequest(base: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const why = (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : causeCode(e);
    throw new EdgelbError('EDGELB_ERR_API_UNREACHABLE', `no edgelb daemon answered at ${base} (${why})`, { cause: e });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${url} answered ${res.status} with a body that is not JSON`);
  }
  if (res.status === 401) throw new EdgelbError('EDGELB_ERR_API_UNAUTHORIZED', `${url}: missing or wrong bearer token (use --token or EDGELB_API_TOKEN)`);
  if (!res.ok) {
    const b = body as { code?: string; message?: string } | undefined;
    throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${url} answered ${res.status}${b?.code ? ` ${b.code}` : ''}: ${b?.message ?? text}`);
  }
  return body;
}
