// XDP data path through BPF_PROG_TEST_RUN, every mode × protocol × family: the first packet of
// a flow and its reply (dsr has none), with exact output frames and per-service packet counts.
// Shared setup in dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataplaneService } from '../../src/dataplane/types.js';
import { frame, TCP_ACK, TCP_SYN } from './dataplane/pkt.js';
import { B2, B2v6, C4, C6, dp, fromBackend, NODE4, NODE6, allocated, portOf, runRows, SERVICES, svc, toBackend, toRouter, useXdpPacketDataplane, type Row } from './dataplane/packets.js';

/** Every mode × protocol × family: the first packet of a flow, and its reply (dsr has none). */
const MODES = ['dnat', 'onearm', 'fullnat', 'dsr'] as const;
const MATRIX_SERVICES: DataplaneService[] = [];
const MATRIX_ROWS: Row[] = [];
{
  let k = 0;
  for (const fam of [4, 6] as const) {
    for (const mode of MODES) {
      for (const proto of ['tcp', 'udp'] as const) {
        k++;
        const vip = fam === 4 ? `192.168.82.${k}` : `2001:db8:82::${k}`;
        const client = fam === 4 ? C4 : C6;
        const be = fam === 4 ? B2 : B2v6;
        const node = fam === 4 ? NODE4 : NODE6;
        const vport = proto === 'tcp' ? 80 : 53;
        const bport = mode === 'dsr' ? vport : proto === 'tcp' ? 8080 : 5353;
        const sport = 42000 + k;
        const name = `m-${mode}${fam}-${proto}`;
        const payload = Buffer.from(`m${k}`);
        const flags = proto === 'tcp' ? { tcpFlags: TCP_SYN } : { payload };
        const rflags = proto === 'tcp' ? { tcpFlags: TCP_SYN | TCP_ACK } : { payload };
        MATRIX_SERVICES.push(svc(name, vip, vport, proto, mode, [[be, bport]]));
        const fwd = (srcIp: string, srcPort: number) => toBackend({ src: srcIp, dst: mode === 'dsr' ? vip : be, proto, sport: srcPort, dport: bport, ttl: mode === 'dsr' ? 64 : 63, ...flags }, be);
        MATRIX_ROWS.push({
          desc: `${name}: first packet`,
          input: () => frame({ src: client, dst: vip, proto, sport, dport: vport, ...flags }),
          verdict: 'TX',
          counter: 'tx',
          want:
            mode === 'dnat' || mode === 'dsr'
              ? fwd(client, sport)
              : (out) => fwd(mode === 'onearm' ? node : vip, allocated(name, out)),
        });
        if (mode === 'dsr') continue;
        MATRIX_ROWS.push({
          desc: `${name}: reply`,
          input: () =>
            fromBackend({ src: be, dst: mode === 'dnat' ? client : mode === 'onearm' ? node : vip, proto, sport: bport, dport: mode === 'dnat' ? sport : portOf(name), ...rflags }, be),
          verdict: 'TX',
          counter: 'tx',
          want: () => toRouter({ src: vip, dst: client, proto, sport: vport, dport: sport, ttl: 63, ...rflags }),
        });
      }
    }
  }
}

describe('XDP packet grid (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane();

  test(`every mode × protocol × family (${MATRIX_ROWS.length} rows)`, async () => {
    await dp.setServices([...SERVICES, ...MATRIX_SERVICES]);
    runRows(MATRIX_ROWS);
    for (const m of dp.stats().services.filter((x) => x.name.startsWith('m-'))) {
      assert.equal(m.packets, m.mode === 'dsr' ? 1 : 2, `${m.name} packets`);
    }
    await dp.setServices(SERVICES);
  });
});
