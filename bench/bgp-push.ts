// Benchmark: push 100,000 IPv4 /32s to a BIRD receiver, from edgelb's BgpSpeaker, from GoBGP and
// from BIRD, in the same run and the same lab (one sender after the other, distinct prefixes).
// Prints the time until BIRD has them all and each sender's peak RSS, with ratios to GoBGP and BIRD.
//   npx tsx bench/bgp-push.ts [count]        (root: builds network namespaces)
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Lab, edgeTopology, edgePlan, BirdRouter, GobgpRouter } from '../test/lab/lib/index.js';
import { EdgeNode, peerSpec } from '../test/lab/bgp-node.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const R = edgePlan.router;
const [N1, N2, N3] = [1, 2, 3].map((i) => edgePlan.node(i)) as [ReturnType<typeof edgePlan.node>, ReturnType<typeof edgePlan.node>, ReturnType<typeof edgePlan.node>];

/** The i-th /32 of a /8-ish block starting at a.b.0.0. */
function prefix(a: number, b: number, i: number): string {
  const v = (b << 16) + i;
  return `${a}.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}/32`;
}

async function status(pid: number, key: 'VmHWM' | 'VmRSS'): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(s);
  return m ? Number(m[1]) * 1024 : 0;
}

const mb = (b: number) => (b / 1048576).toFixed(1);

/** Routes BIRD imported from one protocol. */
async function imported(bird: BirdRouter, proto: string): Promise<number> {
  const out = await bird.birdc(`show protocols all ${proto}`);
  const m = /Routes:\s+(\d+) imported/.exec(out);
  return m ? Number(m[1]) : 0;
}

async function waitCount(bird: BirdRouter, proto: string, want: number, t0: number, timeoutMs = 300_000): Promise<number> {
  for (;;) {
    const n = await imported(bird, proto);
    if (n >= want) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${proto}: only ${n} of ${want} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An MRT TABLE_DUMP_V2 file (RFC 6396) with `n` IPv4 /32 routes for `gobgp mrt inject global`. */
function mrtFile(path: string, n: number, a: number, b: number, nextHop: string, peerAsn: number): void {
  const parts: Buffer[] = [];
  const rec = (subtype: number, body: Buffer) => {
    const h = Buffer.alloc(12);
    h.writeUInt32BE(0, 0);
    h.writeUInt16BE(13, 4); // TABLE_DUMP_V2
    h.writeUInt16BE(subtype, 6);
    h.writeUInt32BE(body.length, 8);
    parts.push(h, body);
  };
  const ip = (s: string) => Buffer.from(s.split('.').map(Number));
  // PEER_INDEX_TABLE: collector id, empty view name, one peer (IPv4, AS4)
  rec(1, Buffer.concat([ip(nextHop), Buffer.from([0, 0, 0, 1, 0x02]), ip(nextHop), ip(nextHop), Buffer.from([(peerAsn >>> 24) & 255, (peerAsn >> 16) & 255, (peerAsn >> 8) & 255, peerAsn & 255])]));
  // path attributes: ORIGIN IGP, empty AS_PATH, NEXT_HOP
  const attrs = Buffer.concat([Buffer.from([0x40, 1, 1, 0]), Buffer.from([0x40, 2, 0]), Buffer.from([0x40, 3, 4]), ip(nextHop)]);
  for (let i = 0; i < n; i++) {
    const p = prefix(a, b, i).split('/')[0]!;
    const body = Buffer.alloc(4 + 1 + 4 + 2 + 2 + 4 + 2 + attrs.length);
    let o = body.writeUInt32BE(i, 0);
    o = body.writeUInt8(32, o);
    ip(p).copy(body, o);
    o += 4;
    o = body.writeUInt16BE(1, o); // entry count
    o = body.writeUInt16BE(0, o); // peer index
    o = body.writeUInt32BE(0, o); // originated time
    o = body.writeUInt16BE(attrs.length, o);
    attrs.copy(body, o);
    rec(2, body); // RIB_IPV4_UNICAST
  }
  writeFileSync(path, Buffer.concat(parts));
}

async function main(): Promise<void> {
  const lab = await Lab.create(edgeTopology({ prefix: 'bgb', nodes: 3, client: false, ipv6: false }));
  try {
    const bird = await BirdRouter.start(lab, 'router', {
      asn: 64512,
      routerId: R.lan4,
      kernelExport: false, // count BIRD's RIB, not the kernel's FIB
      neighbors: [
        { address: N1.v4, asn: 64601, holdTime: 90, name: 'edgelb' },
        { address: N2.v4, asn: 64602, holdTime: 90, name: 'gobgp' },
        { address: N3.v4, asn: 64603, holdTime: 90, name: 'birdtx' },
      ],
    });

    // --- senders, all Established before any push ---
    const edge = await EdgeNode.start(lab, N1.name, {
      asn: 64601,
      routerId: N1.v4,
      peers: [peerSpec(R.lan4, 64512, { localAddress: N1.v4, families: ['ipv4'], holdTime: 90, maxPrefixes: 0 })],
      reconciled: true,
    });
    const gobgp = await GobgpRouter.start(lab, N2.name, {
      asn: 64602,
      routerId: N2.v4,
      listenPort: -1,
      neighbors: [{ address: R.lan4, asn: 64512, localAddress: N2.v4, holdTime: 90 }],
    });
    const statics = Array.from({ length: COUNT }, (_, i) => `  route ${prefix(10, 192, i)} blackhole;`).join('\n');
    const birdTxConf = lab.writeFile(
      'birdtx.conf',
      [
        `router id ${N3.v4};`,
        'protocol device {}',
        `protocol static s1 {\n  ipv4;\n  disabled yes;\n${statics}\n}`,
        `protocol bgp up {\n  local ${N3.v4} as 64603;\n  neighbor ${R.lan4} as 64512;\n  hold time 90;\n  connect retry time 1;\n  ipv4 { import none; export where proto = "s1"; next hop self; };\n}`,
      ].join('\n') + '\n',
    );
    const birdTxSock = lab.path('birdtx.ctl');
    const birdTx = await lab.spawn(N3.name, ['bird', '-f', '-c', birdTxConf, '-s', birdTxSock, '-P', lab.path('birdtx.pid')], { name: 'bird-tx' });
    await bird.waitEstablished(undefined, { timeoutMs: 60_000 });

    const results: Array<{ who: string; ms: number; rss: number; base: number }> = [];

    // edgelb: setAdvertisements(100k) through the runner's API
    {
      const ads = Array.from({ length: COUNT }, (_, i) => ({ prefix: prefix(10, 64, i) }));
      const base = await status(edge.proc.pid, 'VmRSS');
      const t0 = performance.now();
      await edge.setAds(ads);
      const ms = await waitCount(bird, 'edgelb', COUNT, t0);
      results.push({ who: 'edgelb', ms, rss: await status(edge.proc.pid, 'VmHWM'), base });
    }
    // GoBGP: mrt inject (it drops its last partial batch: feed 10% more than we count)
    {
      const file = lab.path('push.mrt');
      mrtFile(file, Math.ceil(COUNT * 1.1), 10, 128, N2.v4, 64602);
      const pid = gobgp.processes[0]!.pid;
      const base = await status(pid, 'VmRSS');
      const t0 = performance.now();
      void gobgp.gobgp(['mrt', 'inject', 'global', file]).catch((e: unknown) => console.error('mrt inject:', e));
      const ms = await waitCount(bird, 'gobgp', COUNT, t0);
      results.push({ who: 'gobgp', ms, rss: await status(pid, 'VmHWM'), base });
    }
    // BIRD as the sender: enable the static protocol holding 100k routes
    {
      const base = await status(birdTx.pid, 'VmRSS');
      const t0 = performance.now();
      await lab.exec(N3.name, ['birdc', '-s', birdTxSock, 'enable', 's1']);
      const ms = await waitCount(bird, 'birdtx', COUNT, t0);
      results.push({ who: 'bird', ms, rss: await status(birdTx.pid, 'VmHWM'), base });
    }

    const g = results.find((r) => r.who === 'gobgp')!;
    const b = results.find((r) => r.who === 'bird')!;
    console.log(`\nbgp-push: ${COUNT} IPv4 /32s to a BIRD ${(await lab.exec('router', ['bird', '--version'], { check: false })).stderr.trim()} receiver (same run, same lab)`);
    console.log('sender   time-to-all  routes/s   peak RSS  (RSS before push)  time vs GoBGP  time vs BIRD  RSS vs GoBGP');
    for (const r of results) {
      console.log(
        `${r.who.padEnd(8)} ${(r.ms / 1000).toFixed(2).padStart(8)} s  ${Math.round(COUNT / (r.ms / 1000)).toString().padStart(8)}  ${mb(r.rss).padStart(7)} MB  (${mb(r.base)} MB)  ${(r.ms / g.ms).toFixed(2).padStart(10)}x  ${(r.ms / b.ms).toFixed(2).padStart(10)}x  ${(r.rss / g.rss).toFixed(2).padStart(10)}x`,
      );
    }
    console.log(JSON.stringify({ bench: 'bgp-push', count: COUNT, results }));
  } catch (e) {
    console.error(lab.logs(20));
    throw e;
  } finally {
    await lab.teardown();
  }
}

await main();
