// A stand-in for the daemon's BFD side, wired to the XDP offload the way the daemon will be
// (docs/bfd.md "Not wired yet"), for test/lab/bfd-offload.test.ts: in node1, it attaches (or takes
// over) the XDP data path on eth0, reads the offload table and resumes its sessions from it, runs a
// BfdEngine on real UDP sockets, renews the lease with every packet it sends (its sequence number
// first) and republishes its Up sessions every 500 ms with a window of frames signed ahead. The
// test kills it with SIGKILL: nothing is said to the router, XDP takes over.
//   node --import tsx bfd-offload-child.ts <node name> <peer> <local> <auth key or ->
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { loadNative } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { xdpNativeFrom } from '../../src/dataplane/native.js';
import { BfdEngine, type BfdClock, type BfdTransport } from '../../src/bfd/engine.js';
import { DgramTransport, openReceiver } from '../../src/bfd/udp.js';
import { encodeSigned, type BfdAuthConfig } from '../../src/bfd/auth.js';
import { BfdAuthType, BfdState, controlPacket } from '../../src/bfd/packet.js';
import { resumeOf, type BfdOffloadSession, type BfdResume } from '../../src/bfd/offload.js';
import { XdpBfdOffload } from '../../src/bfd/xdp-offload.js';
import type { BfdSessionConfig } from '../../src/bfd/session.js';

const [nodeName, peer, local, keyArg] = process.argv.slice(2) as [string, string, string, string];
const WINDOW = 300;
const auth: BfdAuthConfig | undefined = keyArg && keyArg !== '-' ? { type: BfdAuthType.MeticulousKeyedSha1, keyId: 7, key: Buffer.from(keyArg) } : undefined;
const cfg: BfdSessionConfig = { key: peer, peer, local, multihop: false, minTxUs: 100_000, minRxUs: 100_000, multiplier: 3, ...(auth ? { auth } : {}) };
const log = (m: string) => process.stdout.write(`${m}\n`);

async function main(): Promise<void> {
  const native = xdpNativeFrom(loadNative());
  const dp = new XdpDataplane({
    node: { name: nodeName, routerId: local, interface: 'eth0' },
    spec: { attachMode: 'generic', maglevSize: 251, conntrackSize: 1024, enabled: true },
    logger: silentLogger(),
    registry: new Registry(),
    native,
    manageNeighbours: false,
    maxServices: 4,
    maxBackends: 4,
  });
  const opened = await dp.open();
  const offload = new XdpBfdOffload({ native, fds: { sessions: dp.mapFd('bfd'), frames: dp.mapFd('bfdFrames'), lease: dp.mapFd('bfdLease') } });
  const prev = offload.read();
  const resume = new Map<string, BfdResume>();
  for (const row of prev.sessions) resume.set(row.key, resumeOf(row, prev.progress.find((p) => p.key === row.key)));
  log(`opened takenOver=${opened.takenOver} resume=${JSON.stringify([...resume.values()])}`);

  let lastSeq = resume.get(peer)?.xmitAuthSeq ?? 0;
  const inner = new DgramTransport((m) => log(`error ${m}`));
  const transport: BfdTransport = {
    openSender(c, opts) {
      const s = inner.openSender(c, opts);
      return {
        send(buf: Buffer) {
          // the number first, then the lease (now + 1.5 intervals), then the packet
          if (buf.length >= 32 && buf[1]! & 0x04) lastSeq = buf.readUInt32BE(28);
          offload.renewLease(performance.now() + 150, { [c.key]: lastSeq });
          s.send(buf);
        },
        close: () => s.close(),
        get srcPort() {
          return s.srcPort;
        },
      };
    },
  };
  const clock: BfdClock = {
    now: () => performance.now(),
    at(t, fn) {
      const h = setTimeout(fn, Math.max(0, t - performance.now()));
      return () => clearTimeout(h);
    },
  };
  const engine = new BfdEngine(transport, clock, (c) => log(`change ${BfdState[c.from]} -> ${BfdState[c.to]} diag ${c.diag}`));
  await openReceiver({ family: 4, multihop: false }, (msg, address, port) => engine.receive(msg, { address, port, multihop: false }), (m) => log(`error ${m}`));
  engine.setSessions([cfg], resume);

  setInterval(() => {
    const v = engine.views().find((x) => x.key === peer);
    const srcPort = engine.sender(peer)?.srcPort;
    if (!v || v.state !== BfdState.Up || !srcPort) return;
    const packet = controlPacket({ state: BfdState.Up, myDiscr: v.localDiscr, yourDiscr: v.remoteDiscr, detectMult: v.detectMult, desiredMinTx: v.desiredMinTxUs, requiredMinRx: v.requiredMinRxUs });
    const first = auth ? (lastSeq + 1) >>> 0 : 0;
    const row: BfdOffloadSession = {
      key: peer, family: 4, local, srcPort, peer, dstPort: 3784, multihop: false,
      localDiscr: v.localDiscr, remoteDiscr: v.remoteDiscr, detectMult: v.detectMult,
      desiredMinTxUs: v.desiredMinTxUs, requiredMinRxUs: v.requiredMinRxUs,
      remoteDesiredMinTxUs: v.remoteDesiredMinTxUs, remoteMinRxUs: v.remoteMinRxUs, remoteDetectMult: v.remoteDetectMult,
      ...(auth ? { auth: { type: auth.type, keyId: auth.keyId, meticulous: true } } : {}),
      firstSeq: first,
      frames: Array.from({ length: auth ? WINDOW : 1 }, (_, i) => encodeSigned(packet, auth, (first + i) >>> 0)),
    };
    offload.publish([row]);
    offload.renewLease(performance.now() + 150, { [peer]: lastSeq });
  }, 500);
  setInterval(() => {
    const v = engine.views().find((x) => x.key === peer);
    log(`view ${v ? BfdState[v.state] : 'none'} seq ${lastSeq}`);
  }, 1000);
}

main().catch((e) => {
  log(`fatal ${(e as Error).stack}`);
  process.exit(1);
});
