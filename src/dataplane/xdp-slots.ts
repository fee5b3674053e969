// XDP data path slot bookkeeping: the index free-lists, the shadow service/backend slots and their keys.
import { canonicalIp } from '../lib/addr.js';
import type { EpSelect } from '../model/desired-state.js';
import type { DataplaneBackend, DataplaneService } from './types.js';

export interface BackendSlot {
  index: number;
  gen: number;
  refs: number;
  address: string;
  port: number;
  neighbour: boolean;
}

export interface ServiceSlot {
  index: number;
  key: string;
  vipKey: string;
  sig: string;
  tableSig: string;
  svc: DataplaneService;
  sel: EpSelect;
  backendKeys: string[];
}

/** Lowest-first free list of indices 0..size-1. */
export class FreeList {
  private readonly free: number[];
  private readonly used = new Set<number>();
  constructor(readonly size: number) {
    this.free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }
  take(): number | undefined {
    const i = this.free.pop();
    if (i !== undefined) this.used.add(i);
    return i;
  }
  claim(i: number): void {
    if (this.used.has(i)) return;
    const at = this.free.indexOf(i);
    if (at >= 0) this.free.splice(at, 1);
    this.used.add(i);
  }
  release(i: number): void {
    if (!this.used.delete(i)) return;
    this.free.push(i);
    this.free.sort((a, b) => b - a);
  }
  get inUse(): number {
    return this.used.size;
  }
}

export const svcKeyOf = (vip: string, port: number, protocol: string) => `${canonicalIp(vip)}|${port}|${protocol}`;
export const beKeyOf = (b: DataplaneBackend) => `${canonicalIp(b.address)}|${b.port}`;

export function keyToSvc(key: string): { vip: string; port: number; protocol: string } {
  const [vip, port, protocol] = key.split('|') as [string, string, string];
  return { vip, port: Number(port), protocol };
}
