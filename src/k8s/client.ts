// The only file that talks to the API server (over http.ts: no @kubernetes/client-node at run time
// unless a kubeconfig needs it to sign): list+watch caches that keep their last objects when the
// API server goes away and restart with back-off, patches, server-side apply, events and Leases.
// Glue only: the logic lives in ipam.ts, translate.ts and status.ts.
import type { KubernetesObject, V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../lib/logger.js';
import { Backoff } from '../lib/backoff.js';
import { errorMessage } from '../lib/errors.js';
import { KubeClient, type WatchHandle } from './http.js';
import type { NodeObj } from './types.js';

export { KubeApiError, KubeClient } from './http.js';

export const GROUP = 'edgelb.io';
export const VERSION = 'v1alpha1';

/** A client from a kubeconfig file; default: KUBECONFIG, ~/.kube/config, or in-cluster credentials. */
export function loadKubeClient(path?: string): Promise<KubeClient> {
  return KubeClient.load(path);
}

/** HTTP status of an API error (0 when the server was not reached). */
export function statusOf(e: unknown): number {
  const c = (e as { code?: unknown; statusCode?: unknown })?.statusCode ?? (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : 0;
}

/** A list answer: its items and the resourceVersion to watch from. */
export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * A list+watch cache. On an error it keeps what it has (so the node keeps serving its last known
 * state) and restarts with back-off; `synced` turns true after the first complete list and the
 * watch that follows it. A watch the server ends is resumed from the last resourceVersion; one
 * too old (410 Gone) is replaced by a new list, whose missing objects count as deleted.
 */
export class Reflector<T extends KubernetesObject> {
  private objects = new Map<string, T>();
  private resourceVersion = '';
  private readonly backoff = new Backoff(500, 30_000);
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watching: WatchHandle | undefined;
  private lastError: unknown;
  private forbiddenLogged = false;
  synced = false;
  connected = false;

  constructor(
    readonly name: string,
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly listFn: () => Promise<ListResult<T>>,
    /** Called on every add, update and delete (with the object) and after each complete list. */
    private readonly onChange: (obj?: T) => void,
    private readonly log: Logger,
    private readonly labelSelector?: string,
    /** An absent resource (404, e.g. an optional CRD) or one this identity may not read (403,
     *  e.g. a speaker without list on nodereports) is an empty, synced list, retried slowly. */
    private readonly optional = false,
    /** What the cache keeps of each object (slim.ts): applied to every listed and watched object
     *  before it is cached or handed to `onChange`. Default: the object as it came. */
    private readonly transform: (o: T) => T = (o) => o,
  ) {}

  /** Start; resolves after the first list and watch succeeded (or failed: then it keeps retrying). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.lastError = undefined;
    try {
      await this.listAndWatch();
    } catch (e) {
      this.failed(e);
      return;
    }
    if (!this.stopped) {
      if (!this.synced) this.log.debug({ resource: this.name }, 'synced');
      this.synced = true;
      this.backoff.reset();
      this.onChange();
    }
  }

  private async listAndWatch(): Promise<void> {
    this.connected = true;
    if (!this.resourceVersion) {
      const list = await this.listFn();
      if (this.stopped) return;
      this.replace((list.items ?? []).map((o) => this.transform(o)));
      this.resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    const query = { resourceVersion: this.resourceVersion, ...(this.labelSelector !== undefined ? { labelSelector: this.labelSelector } : {}) };
    const w = await this.client.watch(this.path, query, (type, obj) => this.event(type, obj));
    if (this.stopped) {
      w.stop();
      return;
    }
    this.watching = w;
    void w.done.then((err) => {
      if (this.watching !== w || this.stopped) return;
      this.watching = undefined;
      if (err) this.failed(err);
      else void this.resume();
    });
  }

  /** The server ended the watch (its timeout, or after a 410): go on from where it was. */
  private async resume(): Promise<void> {
    try {
      await this.listAndWatch();
      this.backoff.reset();
    } catch (e) {
      this.failed(e);
    }
  }

  /** A list: objects not in it are deleted, new or changed ones added. */
  private replace(items: T[]): void {
    const next = new Map<string, T>();
    for (const o of items) next.set(keyOf(o), o);
    const old = this.objects;
    this.objects = next;
    for (const k of old.keys()) if (!next.has(k)) this.onChange();
    for (const [k, o] of next) {
      const prev = old.get(k);
      if (!prev || prev.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.onChange(o);
    }
  }

  private event(type: string, raw: Record<string, unknown>): void {
    if (type === 'ERROR') {
      // 410 Gone: the resourceVersion is too old; the server ends the watch and a new list follows
      if ((raw as { code?: number }).code === 410) {
        this.resourceVersion = '';
        this.watching?.stop();
        this.watching = undefined;
        void this.resume();
      }
      return;
    }
    const rv = (raw.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const o = this.transform(raw as unknown as T);
    if (!o.metadata) return;
    const k = keyOf(o);
    if (type === 'DELETED') {
      if (this.objects.delete(k)) this.onChange();
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      const prev = this.objects.get(k);
      if (!prev || prev.metadata?.resourceVersion !== o.metadata.resourceVersion) {
        this.objects.set(k, o);
        this.onChange(o);
      }
    }
    if (rv) this.resourceVersion = rv;
  }

  private failed(err: unknown): void {
    this.lastError = err;
    this.connected = false;
    this.watching?.stop();
    this.watching = undefined;
    if (this.stopped) return;
    const code = statusOf(err);
    if (code === 410) this.resourceVersion = '';
    const absent = this.optional && (code === 404 || code === 403);
    if (absent) this.synced = true;
    const delay = absent ? 30_000 : code === 410 ? 0 : this.backoff.next();
    if (absent && code === 403 && !this.forbiddenLogged) {
      this.forbiddenLogged = true;
      this.log.warn({ resource: this.name }, 'not allowed to read this optional resource: treating it as empty');
    }
    if (!absent && code !== 410) this.log.warn({ resource: this.name, err: errorMessage(err), retryMs: delay }, 'watch failed; serving the last known state');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watching?.stop();
    this.watching = undefined;
  }
}

const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';
const enc = encodeURIComponent;

/** The reads and writes edgelb makes, each one call. */
export class KubeWriter {
  constructor(readonly client: KubeClient) {}

  /** A list of `path` (cluster-wide or namespaced), optionally by label selector. */
  list<T = KubernetesObject>(path: string, labelSelector?: string): Promise<ListResult<T>> {
    return this.client.request<ListResult<T>>('GET', path, { query: { labelSelector } });
  }

  /** Returns the Service's new resourceVersion. */
  async patchServiceAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<string | undefined> {
    const r = await this.client.request<KubernetesObject>('PATCH', `/api/v1/namespaces/${enc(namespace)}/services/${enc(name)}`, { body: { metadata: { annotations } }, contentType: MERGE_PATCH });
    return r.metadata?.resourceVersion;
  }

  /**
   * One strategic-merge PATCH of the status subresource: status (our condition merges by type
   * with others'; ingress is replaced) and metadata.annotations (the Service status strategy keeps
   * metadata changes, so one write records both). Returns the new resourceVersion.
   */
  async patchServiceStatus(namespace: string, name: string, body: { status?: object; metadata?: { annotations: Record<string, string | null> } }): Promise<string | undefined> {
    const r = await this.client.request<KubernetesObject>('PATCH', `/api/v1/namespaces/${enc(namespace)}/services/${enc(name)}/status`, { body, contentType: STRATEGIC_MERGE_PATCH });
    return r.metadata?.resourceVersion;
  }

  async createEvent(namespace: string, body: object): Promise<void> {
    await this.client.request('POST', `/api/v1/namespaces/${enc(namespace)}/events`, { body });
  }

  /** Server-side apply of a cluster-scoped edgelb.io object's status, as `fieldManager`. */
  async applyClusterStatus(plural: string, kind: string, name: string, status: object, fieldManager: string): Promise<string | undefined> {
    const r = await this.client.request<KubernetesObject>('PATCH', `/apis/${GROUP}/${VERSION}/${enc(plural)}/${enc(name)}/status`, {
      query: { fieldManager, force: true },
      body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, status },
      contentType: APPLY_PATCH,
    });
    return r?.metadata?.resourceVersion;
  }

  /** Server-side apply of a whole cluster-scoped edgelb.io object (one without a status subresource), as `fieldManager`. */
  async applyClusterObject(plural: string, kind: string, metadata: { name: string } & Record<string, unknown>, fields: Record<string, unknown>, fieldManager: string): Promise<void> {
    await this.client.request('PATCH', `/apis/${GROUP}/${VERSION}/${enc(plural)}/${enc(metadata.name)}`, {
      query: { fieldManager, force: true },
      body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata, ...fields },
      contentType: APPLY_PATCH,
    });
  }

  private leasePath(namespace: string, name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases${name === undefined ? '' : `/${enc(name)}`}`;
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.client.request<V1Lease>('GET', this.leasePath(namespace, name));
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.client.request<V1Lease>('POST', this.leasePath(namespace), { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body } });
  }

  async replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.client.request<V1Lease>('PUT', this.leasePath(namespace, name), { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body } });
  }

  /** A Node, or undefined when it does not exist. */
  async readNode(name: string): Promise<NodeObj | undefined> {
    try {
      return await this.client.request<NodeObj>('GET', `/api/v1/nodes/${enc(name)}`);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** A DaemonSet, or undefined when it does not exist. */
  async readDaemonSet(namespace: string, name: string): Promise<KubernetesObject | undefined> {
    try {
      return await this.client.request<KubernetesObject>('GET', `/apis/apps/v1/namespaces/${enc(namespace)}/daemonsets/${enc(name)}`);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }
}
