// A peer's operator ending the session on purpose (Cease / Administrative Shutdown or Reset, RFC
// 4486) is no error of ours: a passive speaker takes the peer's next connection at once instead of
// refusing it for a growing idle hold. Found by the bgp-transfer bench: a BIRD receiver disabling
// and re-enabling its protocol saw its connects reset for 1, 2, 4 … s (bench/README.md).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BgpState } from '../../src/bgp/fsm.js';
import { isOperatorCease } from '../../src/bgp/session-failure.js';
import { waitFor } from '../../src/lib/backoff.js';
import { Framer, decodeMessage, encodeMessage, DEFAULT_CONTEXT, type BgpMessage } from '../../src/bgp/wire/index.js';
import { freePort, newSpeaker, openMsg, peerSpec } from './fixtures/bgp/loopback.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';

const speakers: BgpSpeaker[] = [];
after(async () => {
  await Promise.all(speakers.map((s) => s.stop('shutdown')));
});

const ctx = { ...DEFAULT_CONTEXT, as4: true };

/** Connect to the speaker as the peer; resolves with what happened: 'established' or 'refused'. */
function session(port: number, then: (s: net.Socket) => void): Promise<'established' | 'refused'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.4', port, localAddress: '127.0.0.5' });
    const f = new Framer();
    let up = false;
    s.on('error', () => undefined);
    s.on('connect', () => {
      s.write(encodeMessage(openMsg({ asn: 65010 }), ctx));
      s.write(encodeMessage({ type: 'keepalive' }, ctx));
    });
    s.on('data', (d) => {
      for (const raw of f.push(d)) {
        const m: BgpMessage = decodeMessage(raw, ctx);
        if (m.type === 'keepalive' && !up) {
          up = true;
          then(s);
          resolve('established');
        }
      }
    });
    s.on('close', () => {
      if (!up) resolve('refused');
    });
  });
}

test('operator Cease: a passive speaker takes the peer back at once after Administrative Shutdown / Reset, with no back-off', async () => {
  const port = await freePort('127.0.0.4');
  const sp = newSpeaker({ asn: 65000, routerId: '10.0.0.4', listenPort: port, listenAddress: '127.0.0.4' });
  speakers.push(sp);
  sp.setPeers([peerSpec('127.0.0.5', 65010, { passive: true, idleHold: 5 })], []);
  await sp.start();
  for (const subcode of [2, 4, 2, 6]) {
    // the peer's operator disables the session, and re-enables it 100 ms later
    await waitFor(() => sp.neighbors()[0]!.state === BgpState.Active, { timeoutMs: 2000, what: 'listening' });
    const r = await session(port, (s) => {
      setTimeout(() => s.end(encodeMessage({ type: 'notification', code: 6, subcode, data: Buffer.alloc(0) }, ctx)), 50);
    });
    assert.equal(r, 'established', `after Cease 6/${subcode}`);
    await waitFor(() => sp.neighbors()[0]!.state !== BgpState.Established, { timeoutMs: 2000, what: 'down' });
    assert.equal(sp.neighbors()[0]!.lastError?.name?.startsWith('cease/'), true);
  }
});

test('operator Cease: which NOTIFICATIONs count as the operator\'s (others keep the back-off)', () => {
  for (const sub of [2, 3, 4, 6]) assert.equal(isOperatorCease({ code: 6, subcode: sub }), true, `6/${sub}`);
  for (const [code, sub] of [[6, 1], [6, 5], [6, 7], [6, 8], [6, 10], [4, 0], [2, 2]] as const) assert.equal(isOperatorCease({ code, subcode: sub }), false, `${code}/${sub}`);
  assert.equal(isOperatorCease(null), false);
});
