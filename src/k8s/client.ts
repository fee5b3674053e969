// The only file that talks to the API server (@kubernetes/client-node v1.x): informers that keep
// their last cache when the API server goes away and restart with back-off, patches, server-side
// apply, events and Leases. Glue only: the logic lives in ipam.ts, translate.ts and status.ts.
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Lease,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { Backoff } from '../lib/backoff.js';
import { errorMessage } from '../lib/errors.js';

export const GROUP = 'edgelb.io';
export const VERSION = 'v1alpha1';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault(); // KUBECONFIG, ~/.kube/config, or in-cluster
  reuseConnections(kc);
  return kc;
}

/**
 * The client library makes a new https.Agent (keepAlive off) for every request, so every API call
 * paid a TCP and TLS handshake: about half the time of a Service write on a loaded node. One
 * keep-alive agent per TLS setting (CA, client certificate) makes calls reuse connections.
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

/** HTTP status of an API error (0 when the server was not reached). */
export function statusOf(e: unknown): number {
  if (e instanceof ApiException) return e.code;
  const c = (e as { code?: unknown; statusCode?: unknown })?.statusCode ?? (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : 0;
}

/**
 * A list+watch cache. On an error it keeps what it has (so the node keeps serving its last known
 * state) and restarts with back-off; `synced` turns true after the first complete list.
 */
export class Reflector<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly backoff = new Backoff(500, 30_000);
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastError: unknown;
  private forbiddenLogged = false;
  synced = false;
  connected = false;

  constructor(
    readonly name: string,
    kc: KubeConfig,
    path: string,
    list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
    /** Called on every add, update and delete (with the object) and after each complete list. */
    private readonly onChange: (obj?: T) => void,
    private readonly log: Logger,
    labelSelector?: string,
    /** An absent resource (404, e.g. an optional CRD) or one this identity may not read (403,
     *  e.g. a speaker without list on nodereports) is an empty, synced list, retried slowly. */
    private readonly optional = false,
    /** What the cache keeps of each object (slim.ts): applied to every listed and watched object
     *  before it is cached or handed to `onChange`. Default: the object as it came. */
    transform?: (o: T) => T,
  ) {
    const watch = new Watch(kc);
    if (transform) {
      const watchFn = watch.watch.bind(watch);
      watch.watch = (p, query, callback, done) => watchFn(p, query, (phase, obj, raw) => callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : transform(obj as T), raw), done);
    }
    const listFn = transform ? async () => { const r = await list(); return { ...r, items: (r.items ?? []).map(transform) }; } : list;
    this.informer = new ListWatch<T>(path, watch, listFn as never, false, labelSelector);
    this.informer.on('add', (o: T) => this.onChange(o));
    this.informer.on('update', (o: T) => this.onChange(o));
    this.informer.on('delete', () => this.onChange());
    this.informer.on('connect', () => {
      this.connected = true;
    });
    this.informer.on('error', (err: unknown) => {
      this.lastError = err;
      this.connected = false;
      if (this.stopped) return;
      const code = statusOf(err);
      const absent = this.optional && (code === 404 || code === 403);
      if (absent) this.synced = true;
      const delay = absent ? 30_000 : this.backoff.next();
      if (absent && code === 403 && !this.forbiddenLogged) {
        this.forbiddenLogged = true;
        this.log.warn({ resource: this.name }, 'not allowed to read this optional resource: treating it as empty');
      }
      if (!absent) this.log.warn({ resource: this.name, err: errorMessage(err), retryMs: delay }, 'watch failed; serving the last known state');
      this.timer = setTimeout(() => void this.run(), delay);
    });
  }

  /** Start; resolves after the first list succeeded (or failed: then it keeps retrying). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.lastError = undefined;
    await this.informer.start();
    if (this.lastError === undefined && !this.stopped) {
      if (!this.synced) this.log.debug({ resource: this.name }, 'synced');
      this.synced = true;
      this.backoff.reset();
      this.onChange();
    }
  }

  list(): T[] {
    return [...this.informer.list()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }
}

/** The writes edgelb makes, each one call. */
export class KubeWriter {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** Returns the Service's new resourceVersion. */
  async patchServiceAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<string | undefined> {
    const r = await this.core.patchNamespacedService(
      { namespace, name, body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return r.metadata?.resourceVersion;
  }

  /**
   * One strategic-merge PATCH of the status subresource: status (our condition merges by type
   * with others'; ingress is replaced) and metadata.annotations (the Service status strategy keeps
   * metadata changes, so one write records both). Returns the new resourceVersion.
   */
  async patchServiceStatus(namespace: string, name: string, body: { status?: object; metadata?: { annotations: Record<string, string | null> } }): Promise<string | undefined> {
    const r = await this.core.patchNamespacedServiceStatus(
      { namespace, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    return r.metadata?.resourceVersion;
  }

  async createEvent(namespace: string, body: object): Promise<void> {
    await this.core.createNamespacedEvent({ namespace, body: body as never });
  }

  /** Server-side apply of a cluster-scoped edgelb.io object's status, as `fieldManager`. */
  async applyClusterStatus(plural: string, kind: string, name: string, status: object, fieldManager: string): Promise<string | undefined> {
    const r = await this.custom.patchClusterCustomObjectStatus(
      { group: GROUP, version: VERSION, plural, name, body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, status }, fieldManager, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    return (r as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
  }

  /** Server-side apply of a whole cluster-scoped edgelb.io object (one without a status subresource), as `fieldManager`. */
  async applyClusterObject(plural: string, kind: string, metadata: { name: string } & Record<string, unknown>, fields: Record<string, unknown>, fieldManager: string): Promise<void> {
    await this.custom.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural, name: metadata.name, body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata, ...fields }, fieldManager, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body });
  }

  async replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name, body });
  }
}
