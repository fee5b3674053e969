// Health probe types: a probe's outcome with a reason from a fixed set, the prober signature, and
// what the checker is asked to watch and reports.
import type { ProbeSpec, ProbeType } from '../model/desired-state.js';

/** Why a probe failed; permanent names (they appear in logs, the API and tests). */
export type ProbeFailure =
  | 'timeout' // no answer within timeoutMs
  | 'refused' // TCP RST / ICMP port unreachable
  | 'unreachable' // no route, host or network unreachable
  | 'status' // HTTP status outside 200-399
  | 'mismatch' // the answer did not contain the expected response
  | 'closed' // the peer closed or reset the connection before the expected response arrived
  | 'unavailable' // the probe cannot run here (e.g. no native addon for ping)
  | 'error'; // any other socket/TLS error (detail says which)

export interface ProbeOutcome {
  ok: boolean;
  /** Set when ok is false. */
  failure?: ProbeFailure;
  /** Human detail: the errno, the HTTP status, what was received. */
  detail?: string;
  /** Time from start to answer, ms. */
  rttMs: number;
}

/** What a prober needs: the address, the resolved port, the spec; it must settle by timeoutMs. */
export interface ProbeRequest {
  address: string;
  port: number | undefined;
  spec: ProbeSpec;
}

export type Prober = (req: ProbeRequest) => Promise<ProbeOutcome>;

export type Probers = Record<Exclude<ProbeType, 'none'>, Prober>;

/** One service's endpoints and how to probe them. */
export interface HealthTarget {
  service: string;
  /** Endpoint addresses (IPv4 or IPv6). */
  endpoints: string[];
  probe: ProbeSpec;
  /** Port to probe when probe.port is not set (e.g. the service's targetPort). */
  port?: number;
}

export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export interface EndpointHealth {
  service: string;
  endpoint: string;
  /** unknown (never probed, or only failures fewer than `retries`) counts as healthy. */
  healthy: boolean;
  state: HealthState;
  /** Consecutive failed probes. */
  failures: number;
  probe: ProbeType;
  lastOutcome?: ProbeOutcome;
  /** Date.now() of the last completed probe. */
  lastProbeAt?: number;
}

/** Map an errno name from a socket error to a probe failure. */
export function failureOfErrno(code: string | undefined): ProbeFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'closed';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

export function ok(start: number): ProbeOutcome {
  return { ok: true, rttMs: performance.now() - start };
}

export function fail(start: number, failure: ProbeFailure, detail?: string): ProbeOutcome {
  return detail === undefined
    ? { ok: false, failure, rttMs: performance.now() - start }
    : { ok: false, failure, detail, rttMs: performance.now() - start };
}
