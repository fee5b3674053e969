// Cluster member addresses: parse "host", "host:port" and "[v6]:port", canonical keys, and the
// tie-breaker member used by the quorum rule. Pure.
import { canonicalIp, familyOf } from '../lib/addr.js';
import { EdgelbError } from '../lib/errors.js';

export const DEFAULT_CLUSTER_PORT = 11112;

export interface HostPort {
  host: string; // canonical address
  port: number;
  /** "host:port" or "[v6]:port": unique key of a member. */
  key: string;
}

export function parseHostPort(s: string, defaultPort = DEFAULT_CLUSTER_PORT): HostPort {
  let host: string;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if (familyOf(s)) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster member must be an IP address: ${s}`);
    host = s.slice(0, i);
    port = Number(s.slice(i + 1));
  }
  if (!familyOf(host)) throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster member must be an IP address: ${s}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EdgelbError('EDGELB_ERR_CLUSTER', `bad port in ${s}`);
  host = canonicalIp(host);
  return { host, port, key: familyOf(host) === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The tie-breaker of the quorum rule: the lowest member key (the same on every node). */
export function tieBreakerOf(members: readonly HostPort[]): string {
  return members.map((m) => m.key).sort()[0] ?? '';
}
