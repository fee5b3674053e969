// HTTP client of the daemon API for the CLI: one request, errors mapped to stable codes
// (no daemon → EDGELB_ERR_API_UNREACHABLE, 401 → EDGELB_ERR_API_UNAUTHORIZED, other → _RESPONSE),
// and the typed views of the REST contract (model/views.ts), checked field by field on arrival so
// the tables read typed rows (a body of another shape is an error that names the missing field).
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { BfdRow, HaRow, NeighborRow, ServiceRow, ShardRow, VipRow } from '../model/views.js';

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
      // the mark no web page can send without a CORS preflight: the daemon refuses POSTs without it
      headers: { 'x-edgelb-request': '1', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
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
  if (res.status === 403) {
    const b = body as { code?: string; message?: string } | undefined;
    throw new EdgelbError('EDGELB_ERR_API_FORBIDDEN', `${url}: refused: ${b?.message ?? text}`);
  }
  if (!res.ok) {
    const b = body as { code?: string; message?: string } | undefined;
    throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${url} answered ${res.status}${b?.code ? ` ${b.code}` : ''}: ${b?.message ?? text}`);
  }
  return body;
}

/** The views `edgelb get` reads, by path. */
export interface ViewBodies {
  '/v1/services': ServiceRow[];
  '/v1/vips': VipRow[];
  '/v1/ha': HaRow;
  '/v1/bgp/neighbors': NeighborRow[];
  '/v1/bfd': BfdRow[];
}
export type ViewPath = keyof ViewBodies;

type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'string|null' | 'object|null';
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
/** Every required field of a row and its kind; the compiler keeps each table equal to its type. */
type Fields<T> = { [K in RequiredKeys<T>]: Kind };

const SERVICE = { name: 'string', vips: 'array', pool: 'string', shard: 'number', mode: 'string', ports: 'array', endpoints: 'array' } satisfies Fields<ServiceRow>;
const VIP = {
  vip: 'string', services: 'array', pool: 'string', shard: 'number', master: 'string|null', interface: 'string',
  announce: 'string', bgpMode: 'string', bgp: 'object', l2: 'object',
} satisfies Fields<VipRow>;
const HA = { node: 'string', drained: 'boolean', shards: 'array' } satisfies Fields<HaRow>;
const SHARD = { shard: 'number', state: 'string', master: 'string|null', epoch: 'number' } satisfies Fields<ShardRow>;
const NEIGHBOR = {
  address: 'string', port: 'number', asn: 'number', state: 'string', uptime: 'number',
  prefixesSent: 'number', prefixesReceived: 'number', lastError: 'object|null',
} satisfies Fields<NeighborRow>;
const BFD = {
  peer: 'string', multihop: 'boolean', state: 'string', remoteState: 'string', diag: 'number', localDiscr: 'number', remoteDiscr: 'number',
  txIntervalMs: 'number', detectTimeMs: 'number', multiplier: 'number', remoteMultiplier: 'number', auth: 'string', upSeconds: 'number', flaps: 'number',
} satisfies Fields<BfdRow>;

function kindOk(v: unknown, k: Kind): boolean {
  if (v === null) return k.endsWith('|null');
  if (Array.isArray(v)) return k === 'array';
  return typeof v === k.replace('|null', '');
}

function checkRow(path: string, where: string, row: unknown, fields: Record<string, Kind>): void {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${path}: ${where} is not an object`);
  for (const [k, kind] of Object.entries(fields)) {
    const v = (row as Record<string, unknown>)[k];
    if (!kindOk(v, kind)) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${path}: ${where}.${k} should be ${kind}, got ${v === undefined ? 'nothing' : JSON.stringify(v)} (a daemon of another version?)`);
  }
}

function checkList(path: string, body: unknown, fields: Record<string, Kind>): void {
  if (!Array.isArray(body)) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `${path}: expected a list`);
  body.forEach((r, i) => checkRow(path, `[${i}]`, r, fields));
}

const CHECKS: { [P in ViewPath]: (body: unknown) => void } = {
  '/v1/services': (b) => checkList('/v1/services', b, SERVICE),
  '/v1/vips': (b) => checkList('/v1/vips', b, VIP),
  '/v1/bgp/neighbors': (b) => checkList('/v1/bgp/neighbors', b, NEIGHBOR),
  '/v1/bfd': (b) => checkList('/v1/bfd', b, BFD),
  '/v1/ha': (b) => {
    checkRow('/v1/ha', 'body', b, HA);
    (b as HaRow).shards.forEach((s, i) => checkRow('/v1/ha', `shards[${i}]`, s, SHARD));
  },
};

/** Check a body against the view's contract (throws EDGELB_ERR_API_RESPONSE naming the first bad field). */
export function checkView<P extends ViewPath>(path: P, body: unknown): ViewBodies[P] {
  CHECKS[path](body);
  return body as ViewBodies[P];
}

/** GET one view of the REST contract; resolves with its typed body, or throws
 *  EDGELB_ERR_API_RESPONSE naming the first field that does not match the contract. */
export async function getView<P extends ViewPath>(base: string, path: P, opts: Omit<RequestOptions, 'method'> = {}): Promise<ViewBodies[P]> {
  const body = await apiRequest(base, path, opts);
  CHECKS[path](body);
  return body as ViewBodies[P];
}
