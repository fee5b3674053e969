// The Kubernetes API over node:https, without @kubernetes/client-node at run time: loading that
// library (its generated models and APIs, ~2,500 modules) cost a process 70 MiB of RSS before it
// read one object, most of an `edgelb controller`'s memory. What edgelb needs is small: JSON
// requests (list, patch, create, replace) and watch streams (one JSON event a line), over one
// keep-alive agent, with the credentials of a kubeconfig (KUBECONFIG, ~/.kube/config) or of the
// pod (in-cluster). A kubeconfig whose user authenticates some other way (exec plugins, auth
// providers, proxies) is handed to the library, loaded only then, which signs each request.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';

/** An answer of the API server with a status ≥ 400 (or a watch ERROR event): `code` is the HTTP status. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** What signs a request: TLS settings and headers. */
interface Credentials {
  server: string;
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized: boolean;
  servername?: string;
  /** The Authorization header now (a token file is re-read once a minute: bound tokens rotate). */
  authorization(): string | undefined;
}

/** Signs a request through @kubernetes/client-node (the kubeconfigs this file does not handle itself). */
type Signer = (opts: RequestOptions & { headers: Record<string, string> }) => Promise<void>;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface NamedCluster {
  name: string;
  cluster?: Record<string, unknown>;
}
interface NamedUser {
  name: string;
  user?: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context?: { cluster?: string; user?: string };
}
interface KubeconfigFile {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

/** A token read from a file, re-read when older than a minute. */
function tokenFile(path: string): () => string | undefined {
  let value = '';
  let at = 0;
  return () => {
    if (Date.now() - at > 60_000) {
      value = readFileSync(path, 'utf8').trim();
      at = Date.now();
    }
    return value ? `Bearer ${value}` : undefined;
  };
}

/** The user fields this file signs with; any other (exec, auth-provider, …) goes to the library. */
const OWN_USER_FIELDS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password']);
const OWN_CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

/** The kubeconfig file paths to read, in KUBECONFIG order, or ~/.kube/config; [] for in-cluster. */
function kubeconfigPaths(path?: string): string[] {
  if (path) return [path];
  const env = process.env.KUBECONFIG;
  if (env) return env.split(delimiter).filter((p) => p && existsSync(p));
  const home = join(process.env.HOME || homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** Merge kubeconfig files as kubectl does: the first file that names a thing wins. */
function readKubeconfigs(paths: string[]): { file: KubeconfigFile; dirs: Map<object, string> } {
  const out: Required<Pick<KubeconfigFile, 'clusters' | 'users' | 'contexts'>> & KubeconfigFile = { clusters: [], users: [], contexts: [] };
  const dirs = new Map<object, string>();
  for (const p of paths) {
    const f = (parseYaml(readFileSync(p, 'utf8')) ?? {}) as KubeconfigFile;
    out['current-context'] ??= f['current-context'] || undefined;
    for (const [list, into] of [
      [f.clusters, out.clusters],
      [f.users, out.users],
      [f.contexts, out.contexts],
    ] as const) {
      for (const e of (list ?? []) as Array<NamedCluster | NamedUser | NamedContext>) {
        if (!e?.name || (into as Array<{ name: string }>).some((x) => x.name === e.name)) continue;
        (into as unknown[]).push(e);
        dirs.set(e, dirname(p));
      }
    }
  }
  return { file: out, dirs };
}

/** Credentials of a kubeconfig this file can sign with, or undefined (the library must). */
function fromKubeconfig(paths: string[]): Credentials | undefined {
  const { file, dirs } = readKubeconfigs(paths);
  const ctx = file.contexts?.find((c) => c.name === file['current-context'])?.context;
  const where = `kubeconfig ${paths.join(delimiter)}`;
  if (!ctx) throw new Error(`No active cluster in ${where} (current context "${file['current-context'] ?? ''}" not found)`);
  const cl = file.clusters?.find((c) => c.name === ctx.cluster);
  const us = file.users?.find((u) => u.name === ctx.user);
  if (!cl?.cluster) throw new Error(`No active cluster in ${where} (context "${file['current-context'] ?? ''}" names cluster "${ctx.cluster ?? ''}", which is not defined)`);
  const c = cl.cluster;
  const u = us?.user ?? {};
  if (Object.keys(u).some((k) => !OWN_USER_FIELDS.has(k)) || Object.keys(c).some((k) => !OWN_CLUSTER_FIELDS.has(k))) return undefined;
  const rel = (obj: object, p: string) => (isAbsolute(p) ? p : join(dirs.get(obj) ?? '.', p));
  const data = (v: unknown) => (typeof v === 'string' && v ? Buffer.from(v, 'base64') : undefined);
  const file_ = (obj: object, v: unknown) => (typeof v === 'string' && v ? readFileSync(rel(obj, v)) : undefined);
  const token = typeof u.token === 'string' && u.token ? `Bearer ${u.token}` : undefined;
  const tf = typeof u.tokenFile === 'string' && u.tokenFile ? tokenFile(rel(us!, u.tokenFile)) : undefined;
  const basic = typeof u.username === 'string' ? `Basic ${Buffer.from(`${u.username}:${String(u.password ?? '')}`).toString('base64')}` : undefined;
  const ca = data(c['certificate-authority-data']) ?? file_(cl, c['certificate-authority']);
  const cert = data(u['client-certificate-data']) ?? (us ? file_(us, u['client-certificate']) : undefined);
  const key = data(u['client-key-data']) ?? (us ? file_(us, u['client-key']) : undefined);
  return {
    server: String(c.server ?? '').replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: c['insecure-skip-tls-verify'] !== true,
    ...(typeof c['tls-server-name'] === 'string' ? { servername: c['tls-server-name'] } : {}),
    authorization: () => token ?? tf?.() ?? basic,
  };
}

/** The pod's own credentials (its ServiceAccount token and the cluster's CA). */
function inCluster(): Credentials | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(join(SA_DIR, 'token'))) return undefined;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(SA_DIR, 'ca.crt')),
    rejectUnauthorized: true,
    authorization: tokenFile(join(SA_DIR, 'token')),
  };
}

/**
 * For a kubeconfig the library signs (http.ts): it makes a new https.Agent (keepAlive off) for
 * every request, so every API call paid a TCP and TLS handshake. One keep-alive agent per TLS
 * setting (CA, client certificate) makes calls reuse connections.
 */
export function reuseConnections(kc: KubeConfig): void {
  type AgentFactory = (cluster: unknown, opts: Record<string, unknown>) => unknown;
  const k = kc as unknown as { createAgent: AgentFactory };
  const orig = k.createAgent.bind(kc);
  const agents = new Map<string, unknown>();
  // the key is a digest of each TLS setting: the client hands over a fresh Buffer of the CA (and
  // certificate) on every call, so the identity of the object says nothing, and a JSON key of a
  // Buffer (an array of every byte as text) cost a fifth of a write's CPU
  const digest = (v: unknown) =>
    v === undefined || v === null ? '-' : createHash('sha256').update(typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v)).digest('base64');
  k.createAgent = (cluster, opts) => {
    const id = [(cluster as { server?: string })?.server ?? '', digest(opts.ca), digest(opts.cert), digest(opts.key), digest(opts.pfx), String(opts.rejectUnauthorized)].join('|');
    let a = agents.get(id);
    if (!a) {
      if (agents.size > 8) agents.clear(); // rotated credentials: do not grow
      a = orig(cluster, { ...opts, keepAlive: true, keepAliveMsecs: 10_000 });
      agents.set(id, a);
    }
    return a;
  };
}

/** The library's KubeConfig as a Signer (loaded only for kubeconfigs this file does not sign itself). */
async function librarySigner(path?: string): Promise<{ server: string; sign: Signer }> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  reuseConnections(kc);
  return { server: (kc.getCurrentCluster()?.server ?? '').replace(/\/+$/, ''), sign: (o) => kc.applyToHTTPSOptions(o as never) };
}

export interface RequestInit {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

/** One watch stream: `stop()` ends it; `done` resolves when it ended (undefined: the server closed it, as it does after a while). */
export interface WatchHandle {
  stop(): void;
  readonly done: Promise<unknown>;
}

/** A connection to one API server: JSON requests and watches, over one keep-alive agent. */
export class KubeClient {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly https: boolean;

  private constructor(
    private readonly creds: Credentials | undefined,
    private readonly server: string,
    private readonly signer?: Signer,
  ) {
    this.https = server.startsWith('https:');
    const tls = creds ? { ...(creds.ca ? { ca: creds.ca } : {}), ...(creds.cert ? { cert: creds.cert } : {}), ...(creds.key ? { key: creds.key } : {}), rejectUnauthorized: creds.rejectUnauthorized, ...(creds.servername ? { servername: creds.servername } : {}) } : {};
    this.agent = this.https ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 10_000, ...tls }) : new HttpAgent({ keepAlive: true, keepAliveMsecs: 10_000 });
  }

  /** From a kubeconfig file; without one: KUBECONFIG, ~/.kube/config, then the pod's own credentials. */
  static async load(path?: string): Promise<KubeClient> {
    const paths = kubeconfigPaths(path);
    if (path && !existsSync(path)) throw new Error(`kubeconfig ${path}: no such file`);
    const creds = paths.length ? fromKubeconfig(paths) : (inCluster() ?? { server: 'http://localhost:8080', rejectUnauthorized: true, authorization: () => undefined });
    if (creds) return new KubeClient(creds, creds.server);
    const lib = await librarySigner(path);
    return new KubeClient(undefined, lib.server, lib.sign);
  }

  /** A client of `server` with a bearer token (tests, and tools that have one). */
  static forServer(server: string, o: { token?: string; ca?: string; insecure?: boolean } = {}): KubeClient {
    return new KubeClient({ server, ...(o.ca ? { ca: o.ca } : {}), rejectUnauthorized: !o.insecure, authorization: () => (o.token ? `Bearer ${o.token}` : undefined) }, server.replace(/\/+$/, ''));
  }

  private async open(method: string, path: string, init: RequestInit, accept: string): Promise<IncomingMessage & { req: ReturnType<typeof httpRequest> }> {
    const q = Object.entries(init.query ?? {}).filter(([, v]) => v !== undefined);
    const url = new URL(this.server + path + (q.length ? `?${new URLSearchParams(q.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : ''));
    const body = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
    const headers: Record<string, string> = { accept, 'user-agent': 'edgelb' };
    if (body) {
      headers['content-type'] = init.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    const opts: RequestOptions & { headers: Record<string, string> } = { method, headers, agent: this.agent };
    if (this.signer) await this.signer(opts);
    else {
      const auth = this.creds!.authorization();
      if (auth) headers.authorization = auth;
    }
    return new Promise((resolve, reject) => {
      const req = (this.https ? httpsRequest : httpRequest)(url, opts, (res) => resolve(Object.assign(res, { req })));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request; the JSON answer, or a KubeApiError carrying the status. */
  async request<T = unknown>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.open(method, path, init, 'application/json');
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status >= 400 || status === 0) {
      const msg = (json as { message?: string } | undefined)?.message ?? (text.slice(0, 200) || `HTTP ${status}`);
      throw new KubeApiError(status, `${method} ${path}: ${status} ${msg}`, json ?? text);
    }
    if (json === undefined && text) throw new KubeApiError(status, `${method} ${path}: the answer is not JSON`, text);
    return json as T;
  }

  /**
   * Watch `path` from `query.resourceVersion`: `onEvent` gets each event's type and object, in
   * order. Resolves once the server answered (a status ≥ 400 rejects with a KubeApiError); the
   * stream's end, or its failure, resolves `done`.
   */
  async watch(path: string, query: Record<string, string | undefined>, onEvent: (type: string, obj: Record<string, unknown>) => void): Promise<WatchHandle> {
    const res = await this.open('GET', path, { query: { ...query, watch: 'true', allowWatchBookmarks: 'true' } }, 'application/json');
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let msg = text.slice(0, 200);
      try {
        msg = (JSON.parse(text) as { message?: string }).message ?? msg;
      } catch {
        /* not JSON */
      }
      throw new KubeApiError(status, `watch ${path}: ${status} ${msg}`);
    }
    let stopped = false;
    const done = new Promise<unknown>((resolve) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (!line || stopped) continue;
          let ev: { type?: string; object?: Record<string, unknown> };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch (e) {
            res.destroy(e as Error);
            return;
          }
          if (typeof ev.type === 'string' && ev.object && typeof ev.object === 'object') onEvent(ev.type, ev.object);
        }
      });
      res.on('end', () => resolve(undefined));
      res.on('error', (e) => resolve(stopped ? undefined : e));
      res.on('close', () => resolve(stopped ? undefined : res.complete ? undefined : new Error(`watch ${path}: the connection closed`)));
    });
    return {
      stop: () => {
        stopped = true;
        res.req.destroy();
        res.destroy();
      },
      done,
    };
  }

  /** Close idle connections (stop). */
  close(): void {
    this.agent.destroy();
  }
}
