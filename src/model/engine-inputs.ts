// What the node agent hands its engines: the BGP speaker's advertisements and the data path's
// services. One definition each, imported by the agent's ports and by the engines that implement
// them (bgp/speaker.ts, dataplane/types.ts). Plain data, no behaviour.
import type { EpSelect, LbMode, Protocol } from './desired-state.js';

/** One route the BGP speaker advertises from this node. */
export interface Advertisement {
  prefix: string;
  med?: number;
  localPref?: number;
  communities?: string[];
  largeCommunities?: string[];
}

export interface DataplaneBackend {
  address: string;
  port: number;
}

/** One (VIP, port, protocol) of a service as the data path programs it. */
export interface DataplaneService {
  /** Unique name of this (service, VIP, port) entry, e.g. "web/192.168.80.241:80/tcp". */
  name: string;
  vip: string;
  port: number;
  protocol: Protocol;
  mode: LbMode;
  /** Healthy backends only; an empty list drops new flows to the service (counted). */
  backends: DataplaneBackend[];
  epSelect: EpSelect;
  /** Idle timeout of a tracked flow, seconds. */
  timeoutSec: number;
}
