// Leader election over a coordination.k8s.io/v1 Lease (as client-go does it): the holder renews;
// another identity takes over only after it has seen the record unchanged for a full lease
// duration (its own clock, so clock skew between nodes does not matter), or when it was released.
import { EventEmitter } from 'node:events';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { statusOf, type KubeWriter } from './client.js';

export interface LeaderOptions {
  writer: Pick<KubeWriter, 'readLease' | 'createLease' | 'replaceLease'>;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSec?: number; // default 15
  retryMs?: number; // default 2000 (renew and retry period)
  log: Logger;
  now?: () => number;
}

/** RFC 3339 with microseconds, as metav1.MicroTime demands (a JS Date serialises 3 digits). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Emits 'change' (isLeader: boolean). */
export class LeaderElector extends EventEmitter {
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private observed: { key: string; at: number } | undefined;
  private lastRenew = 0;
  private inflight: Promise<void> | undefined;
  private readonly dur: number;
  private readonly retry: number;
  private readonly now: () => number;

  constructor(private readonly o: LeaderOptions) {
    super();
    this.dur = o.leaseDurationSec ?? 15;
    this.retry = o.retryMs ?? 2000;
    this.now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stop; a leader releases the Lease so another pod takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inflight?.catch(() => undefined); // a renewal already on its way must not land after stop()
    if (this.leader) {
      this.setLeader(false);
      try {
        const l = await this.o.writer.readLease(this.o.namespace, this.o.name);
        if (l?.spec?.holderIdentity === this.o.identity) {
          l.spec.holderIdentity = '';
          l.spec.leaseDurationSeconds = 1;
          await this.o.writer.replaceLease(this.o.namespace, this.o.name, l);
        }
      } catch (e) {
        this.o.log.debug({ err: errorMessage(e) }, 'lease release failed');
      }
    }
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    this.o.log.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, v ? 'became leader' : 'lost leadership');
    this.emit('change', v);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      this.inflight = this.tryAcquireOrRenew();
      await this.inflight;
    } catch (e) {
      this.o.log.debug({ err: errorMessage(e), status: statusOf(e) }, 'lease update failed');
    }
    // a leader that could not renew for a lease duration steps down (another may have taken over)
    if (this.leader && this.now() - this.lastRenew > this.dur * 1000) this.setLeader(false);
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retry);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { writer, namespace, name, identity } = this.o;
    const now = this.now();
    const lease = await writer.readLease(namespace, name);
    if (this.stopped) return;
    if (!lease) {
      await writer.createLease(namespace, {
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.dur, acquireTime: microTime(now) as never, renewTime: microTime(now) as never, leaseTransitions: 0 },
      });
      this.lastRenew = now;
      this.setLeader(true);
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${String(spec.renewTime)}|${lease.metadata?.resourceVersion}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, at: now };
    const expired = now - this.observed.at > (spec.leaseDurationSeconds ?? this.dur) * 1000;
    if (holder !== identity && holder !== '' && !expired) {
      this.setLeader(false);
      return;
    }
    const next: V1Lease = {
      metadata: { ...lease.metadata, name, namespace },
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.dur,
        renewTime: microTime(now) as never,
        ...(holder !== identity
          ? { acquireTime: microTime(now) as never, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
          : { acquireTime: spec.acquireTime ? (microTime(new Date(spec.acquireTime as unknown as string).getTime()) as never) : (microTime(now) as never) }),
      },
    };
    try {
      await writer.replaceLease(namespace, name, next);
    } catch (e) {
      if (statusOf(e) === 409) {
        this.setLeader(false);
        return;
      }
      throw e;
    }
    this.lastRenew = now;
    this.setLeader(true);
  }
}
