// Benchmark of the BGP wire codec: packing, framing and decoding N prefixes (IPv4 /32 and IPv6
// /128) in UPDATEs of the standard 4096-byte maximum. Anchors do the same data the plainest way
// Node has, in the same process, alternating with our side: JSON.stringify of the same prefixes
// and attributes (pack), Buffer.concat of the same TCP-sized chunks (frame), JSON.parse (decode).
import { performance } from 'node:perf_hooks';
import { Framer, asSequence, decodeMessage, packUpdates, type CodecContext, type PathAttributes, type UpdateMessage } from '../src/bgp/wire/index.js';
import { alternate, type BenchContext, type Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

const STD: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const ATTRS: PathAttributes = { origin: 'igp', asPath: [asSequence(4200000000)], med: 0, communities: ['65000:1', '65000:2'], largeCommunities: ['4200000000:1:1'] };

const timed = (fn: () => unknown) => async () => {
  const s = performance.now();
  fn();
  return performance.now() - s;
};

const bench: Benchmark = {
  name: 'bgp-codec',
  title: 'BGP codec: pack, frame, decode N prefixes vs JSON / Buffer.concat of the same data',
  async run(ctx: BenchContext): Promise<Row[]> {
    const n = ctx.quick ? 10_000 : 100_000;
    const rows: Row[] = [];
    const v4 = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
    const v6 = Array.from({ length: n }, (_, i) => `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`);
    for (const [family, prefixes, attrs] of [
      [4, v4, { ...ATTRS, nextHop: '192.0.2.1' }],
      [6, v6, { ...ATTRS, mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [] } }],
    ] as const) {
      const pack = () => packUpdates(attrs as PathAttributes, prefixes as unknown as string[], [], STD, family);
      const msgs = pack();
      const stream = Buffer.concat(msgs);
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += 1448) chunks.push(stream.subarray(i, i + 1448));
      const json = JSON.stringify({ attrs, prefixes });
      const frame = () => {
        const f = new Framer(STD.maxLength);
        let k = 0;
        for (const c of chunks) k += f.push(c).length;
        if (k !== msgs.length) throw new Error('framing lost messages');
      };
      const decode = () => {
        let got = 0;
        for (const m of msgs) {
          const u = decodeMessage(m, STD) as UpdateMessage;
          got += family === 4 ? u.nlri.length : u.attributes.mpReach!.nlri.length;
        }
        if (got !== n) throw new Error(`decoded ${got} prefixes, want ${n}`);
      };
      const label = `IPv${family}, ${n.toLocaleString('en')} prefixes`;
      for (const [what, ours, anchorName, anchor] of [
        ['pack into UPDATEs', pack, 'JSON.stringify', () => JSON.stringify({ attrs, prefixes })],
        ['frame 1448-byte chunks', frame, 'Buffer.concat', () => Buffer.concat(chunks)],
        ['decode UPDATEs', decode, 'JSON.parse', () => JSON.parse(json)],
      ] as const) {
        ours(); // warm both before anything is timed
        anchor();
        const { a, b } = await alternate(Math.max(ctx.runs, 3), timed(ours), timed(anchor), true);
        rows.push({ bench: 'bgp-codec', figure: `${what}, ${label}`, unit: 'ms', better: 'lower', ours: a, anchor: anchorName, theirs: b });
      }
    }
    return rows;
  },
};
export default bench;
