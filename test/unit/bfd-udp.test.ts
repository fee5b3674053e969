// DgramTransport (src/bfd/udp.ts), on loopback with real sockets: a session's sending socket is
// bound to a source port in 49152-65535 (RFC 5881 section 4); a resumed session asks for the port it
// had (the XDP offload answered from it while no daemon ran) and gets it when it is free, another
// one in the range when it is taken, and an asked port outside the range is never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { DgramTransport } from '../../src/bfd/udp.js';
import { BFD_SRC_PORT_MAX, BFD_SRC_PORT_MIN } from '../../src/bfd/packet.js';
import type { BfdSender } from '../../src/bfd/engine.js';
import type { BfdSessionConfig } from '../../src/bfd/session.js';

const cfg: BfdSessionConfig = { key: 'p', peer: '127.0.0.1', local: '127.0.0.1', multihop: false, minTxUs: 100_000, minRxUs: 100_000, multiplier: 3 };

async function bound(s: BfdSender): Promise<number> {
  for (let i = 0; i < 200 && s.srcPort === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(s.srcPort !== undefined, 'bound');
  return s.srcPort;
}

/** A port in the BFD source range that is free now (bound and released). */
async function freePortInRange(): Promise<number> {
  for (let p = BFD_SRC_PORT_MAX - 1 - Math.floor(Math.random() * 2000); ; p--) {
    const s = createSocket('udp4');
    try {
      s.bind(p, '127.0.0.1');
      await once(s, 'listening');
      s.close();
      return p;
    } catch {
      s.close();
    }
  }
}

test('udp transport: a fresh session binds a port in 49152-65535', async () => {
  const t = new DgramTransport(() => {});
  const s = t.openSender(cfg);
  try {
    const p = await bound(s);
    assert.ok(p >= BFD_SRC_PORT_MIN && p <= BFD_SRC_PORT_MAX, String(p));
  } finally {
    s.close();
  }
});

test('udp transport: a resumed session gets the source port it asks for when it is free', async () => {
  const want = await freePortInRange();
  const s = new DgramTransport(() => {}).openSender(cfg, { srcPort: want });
  try {
    assert.equal(await bound(s), want);
  } finally {
    s.close();
  }
});

test('udp transport: a taken or out-of-range port is not used: another one in the range is', async () => {
  const want = await freePortInRange();
  const squatter: Socket = createSocket('udp4');
  squatter.bind(want, '127.0.0.1');
  await once(squatter, 'listening');
  const errors: string[] = [];
  const t = new DgramTransport((m) => errors.push(m));
  const taken = t.openSender(cfg, { srcPort: want });
  const low = t.openSender(cfg, { srcPort: 3784 });
  try {
    for (const p of [await bound(taken), await bound(low)]) {
      assert.notEqual(p, want);
      assert.notEqual(p, 3784);
      assert.ok(p >= BFD_SRC_PORT_MIN && p <= BFD_SRC_PORT_MAX, String(p));
    }
    assert.deepEqual(errors, []);
  } finally {
    taken.close();
    low.close();
    squatter.close();
  }
});
