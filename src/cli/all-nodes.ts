// `edgelb get … --all-nodes`: the same view from every edgelb node, through the Kubernetes API
// server with the user's kubeconfig. It lists the edgelb pods, then GETs each node's read-only
// views listener (api.viewsListen) through pods/proxy
// (/api/v1/namespaces/NS/pods/POD:PORT/proxy/v1/…), so nothing but the API server needs to be
// reachable and the user's RBAC (pods/proxy in edgelb's namespace) decides. Rows are merged under a
// NODE column; a node that does not answer (pod not running, listener off, refused, timeout, a body
// of another version) becomes an error row, never a crash.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { errorMessage, EdgelbError } from '../lib/errors.js';
import { checkView, type ViewBodies, type ViewPath } from './client.js';
import { bfdColumns, bgpColumns, haColumns, renderTable, servicesColumns, vipsColumns, type Columns } from './tables.js';

export const DEFAULT_NAMESPACE = 'edgelb-system';
export const DEFAULT_SELECTOR = 'app.kubernetes.io/name=edgelb';
/** The views listener's port when a pod does not name it (container port "views"). */
export const DEFAULT_VIEWS_PORT = 11114;
export const VIEWS_PORT_NAME = 'views';

/** An edgelb pod as --all-nodes needs it. */
export interface PodTarget {
  pod: string;
  node: string;
  /** Why it cannot be asked (not running, no address), or undefined. */
  skip?: string;
  port: number;
}

export type NodeAnswer<P extends ViewPath> = { node: string; pod: string; body: ViewBodies[P] } | { node: string; pod: string; error: string };

/** The pods/proxy path of one pod's view (pod names are DNS labels; each part is escaped anyway). */
export function podProxyPath(namespace: string, pod: string, port: number, path: string): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `views port must be 1..65535, got ${port}`);
  if (!path.startsWith('/')) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `view path must start with "/", got "${path}"`);
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy${path}`;
}

interface PodJson {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { nodeName?: string; containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }> };
  status?: { phase?: string; podIP?: string };
}

/** The pods to ask, from a PodList body (outside input: anything missing is a skip reason). */
export function podTargets(list: unknown, defaultPort: number): PodTarget[] {
  const items = (list as { items?: unknown })?.items;
  if (!Array.isArray(items)) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', 'the API server answered the pod list with no items list');
  const out: PodTarget[] = [];
  for (const raw of items as PodJson[]) {
    const pod = raw?.metadata?.name;
    if (typeof pod !== 'string' || !pod) continue;
    const node = typeof raw.spec?.nodeName === 'string' && raw.spec.nodeName ? raw.spec.nodeName : `(pod ${pod}, unscheduled)`;
    const named = (raw.spec?.containers ?? []).flatMap((c) => c?.ports ?? []).find((p) => p?.name === VIEWS_PORT_NAME)?.containerPort;
    const port = typeof named === 'number' && Number.isInteger(named) && named > 0 && named < 65536 ? named : defaultPort;
    let skip: string | undefined;
    if (raw.metadata?.deletionTimestamp) skip = 'pod is terminating';
    else if (raw.status?.phase !== 'Running') skip = `pod is ${raw.status?.phase ?? 'in no phase'}, not Running`;
    else if (!raw.status?.podIP) skip = 'pod has no IP yet';
    out.push({ pod, node, port, ...(skip ? { skip } : {}) });
  }
  return out.sort((a, b) => a.node.localeCompare(b.node) || a.pod.localeCompare(b.pod));
}

/** An API server Status (or our own error body) → its message; else the first bytes of the text. */
export function errorText(status: number, text: string): string {
  try {
    const b = JSON.parse(text) as { message?: unknown; code?: unknown };
    if (typeof b?.message === 'string') return `${status}: ${b.message}`;
  } catch {
    // not JSON
  }
  return `${status}: ${text.trim().slice(0, 200) || 'no body'}`;
}

/** How to reach the API server: its URL and the request options the kubeconfig gives (TLS, auth). */
export interface ApiServer {
  server: string;
  options: () => Promise<RequestOptions>;
}

export async function loadApiServer(kubeconfig?: string): Promise<ApiServer> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `cannot read the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${errorMessage(e)}`, { cause: e });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'the kubeconfig has no current cluster');
  return {
    server: cluster.server.replace(/\/+$/, ''),
    options: async () => {
      const o: RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(o);
      return o;
    },
  };
}

/** One GET on the API server; resolves with the status and body text (never rejects on HTTP status). */
export async function apiServerGet(api: ApiServer, path: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const url = new URL(api.server + path);
  const base = await api.options();
  const req = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const r = req(url, { ...base, method: 'GET', headers: { ...(base.headers ?? {}), accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024 * 1024) r.destroy(new Error('answer larger than 64 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    r.on('error', reject);
    r.end();
  });
}

export interface AllNodesOptions {
  kubeconfig?: string;
  namespace?: string;
  selector?: string;
  port?: number;
  timeoutMs?: number;
  /** Nodes asked at once (default 16). */
  concurrency?: number;
  /** Injected for tests; default: the kubeconfig's API server. */
  api?: ApiServer;
}

/** Ask every edgelb pod for one view. Resolves with one answer per pod (errors included). */
export async function getAllNodes<P extends ViewPath>(path: P, o: AllNodesOptions = {}): Promise<Array<NodeAnswer<P>>> {
  const api = o.api ?? (await loadApiServer(o.kubeconfig));
  const ns = o.namespace ?? DEFAULT_NAMESPACE;
  const timeoutMs = o.timeoutMs ?? 5000;
  const listPath = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(o.selector ?? DEFAULT_SELECTOR)}`;
  let list: { status: number; text: string };
  try {
    list = await apiServerGet(api, listPath, timeoutMs);
  } catch (e) {
    throw new EdgelbError('EDGELB_ERR_API_UNREACHABLE', `the Kubernetes API server at ${api.server} did not answer: ${errorMessage(e)}`, { cause: e });
  }
  if (list.status !== 200) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `listing the edgelb pods in ${ns}: ${errorText(list.status, list.text)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(list.text);
  } catch {
    throw new EdgelbError('EDGELB_ERR_API_RESPONSE', 'the API server answered the pod list with a body that is not JSON');
  }
  const targets = podTargets(parsed, o.port ?? DEFAULT_VIEWS_PORT);
  if (targets.length === 0) throw new EdgelbError('EDGELB_ERR_API_RESPONSE', `no edgelb pod in namespace ${ns} matches ${o.selector ?? DEFAULT_SELECTOR}`);
  const out: Array<NodeAnswer<P>> = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < targets.length; i = next++) out[i] = await askOne(api, ns, targets[i]!, path, timeoutMs);
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 16, targets.length) }, worker));
  return out;
}

async function askOne<P extends ViewPath>(api: ApiServer, ns: string, t: PodTarget, path: P, timeoutMs: number): Promise<NodeAnswer<P>> {
  const at = { node: t.node, pod: t.pod };
  if (t.skip) return { ...at, error: t.skip };
  try {
    const r = await apiServerGet(api, podProxyPath(ns, t.pod, t.port, path), timeoutMs);
    if (r.status !== 200) return { ...at, error: errorText(r.status, r.text) };
    let body: unknown;
    try {
      body = JSON.parse(r.text);
    } catch {
      return { ...at, error: 'answer is not JSON' };
    }
    return { ...at, body: checkView(path, body) };
  } catch (e) {
    return { ...at, error: errorMessage(e) };
  }
}

const COLUMNS: { [P in ViewPath]: (b: ViewBodies[P]) => Columns } = {
  '/v1/services': servicesColumns,
  '/v1/vips': vipsColumns,
  '/v1/bgp/neighbors': bgpColumns,
  '/v1/ha': haColumns,
  '/v1/bfd': bfdColumns,
};

const EMPTY: { [P in ViewPath]: ViewBodies[P] } = { '/v1/services': [], '/v1/vips': [], '/v1/bgp/neighbors': [], '/v1/ha': { node: '', drained: false, shards: [] }, '/v1/bfd': [] };

/** One table with a NODE column; a node that did not answer is one "error: …" line. */
export function allNodesTable<P extends ViewPath>(path: P, answers: Array<NodeAnswer<P>>): string {
  let headers: string[] | undefined;
  const rows: string[][] = [];
  const errors = new Map<number, string>();
  for (const a of answers) {
    if ('error' in a) {
      errors.set(rows.length, a.error);
      rows.push([a.node]);
      continue;
    }
    const c = COLUMNS[path](a.body);
    headers ??= c.headers;
    for (const r of c.rows) rows.push([a.node, ...r]);
  }
  const all = ['NODE', ...(headers ?? COLUMNS[path](EMPTY[path]).headers)];
  const w = Math.max(4, ...rows.map((r) => r[0]!.length));
  const lines = renderTable(all, rows).split('\n');
  for (const [i, msg] of errors) lines[i + 1] = `${rows[i]![0]!.padEnd(w)}  error: ${msg}`;
  return lines.join('\n');
}
