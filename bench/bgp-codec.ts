// Benchmark of the BGP wire codec: packing, framing and decoding 100,000 prefixes (IPv4 /32 and IPv6 /128),
// each figure beside an anchor measured in the same run (JSON of the same data), as a ratio.
//   npx tsx bench/bgp-codec.ts [prefixes]
import { performance } from 'node:perf_hooks';
import { Framer, asSequence, decodeMessage, packUpdates, type CodecContext, type PathAttributes, type UpdateMessage } from '../src/bgp/wire/index.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = 5;
const STD: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const EXT: CodecContext = { as4: true, extendedMessage: true, maxLength: 65535 };

const v4 = Array.from({ length: N }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
const v6 = Array.from({ length: N }, (_, i) => `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`);
const ATTRS: PathAttributes = {
  origin: 'igp',
  asPath: [asSequence(4200000000)],
  med: 0,
  communities: ['65000:1', '65000:2'],
  largeCommunities: ['4200000000:1:1'],
};

/** Median milliseconds of `fn` over ROUNDS runs (after one warm-up). */
function time(fn: () => unknown): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

function row(what: string, ms: number, anchorName: string, anchorMs: number, extra = ''): void {
  const rate = Math.round(N / (ms / 1000)).toLocaleString('en');
  console.log(
    `${what.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms  ${rate.padStart(11)} prefixes/s  ${(ms / anchorMs).toFixed(2).padStart(6)}x ${anchorName} (${anchorMs.toFixed(1)} ms)${extra}`,
  );
}

console.log(`BGP codec, ${N.toLocaleString('en')} prefixes, median of ${ROUNDS}, node ${process.version}`);
for (const [family, prefixes, attrs] of [
  [4, v4, { ...ATTRS, nextHop: '192.0.2.1' }],
  [6, v6, { ...ATTRS, mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: [] } }],
] as const) {
  // anchor: serialising / parsing the same prefixes and attributes as JSON
  const json = JSON.stringify({ attrs, prefixes });
  const jsonOut = time(() => JSON.stringify({ attrs, prefixes }));
  const jsonIn = time(() => JSON.parse(json));
  for (const ctx of [STD, EXT]) {
    const label = `IPv${family} ${ctx.maxLength === 4096 ? '4096' : '65535 (ext)'}`;
    let msgs: Buffer[] = [];
    const pack = time(() => (msgs = packUpdates(attrs as PathAttributes, prefixes as string[], [], ctx, family)));
    const bytes = msgs.reduce((n, b) => n + b.length, 0);
    row(`pack ${label}`, pack, 'JSON.stringify', jsonOut, `  ${msgs.length} UPDATEs, ${(bytes / 1e6).toFixed(2)} MB`);

    // framing the byte stream as it arrives in TCP-sized chunks; anchor: copying the same chunks
    const stream = Buffer.concat(msgs);
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1448) chunks.push(stream.subarray(i, i + 1448));
    const copy = time(() => Buffer.concat(chunks));
    const frame = time(() => {
      const f = new Framer(ctx.maxLength);
      let n = 0;
      for (const c of chunks) n += f.push(c).length;
      if (n !== msgs.length) throw new Error('framing lost messages');
    });
    row(`frame ${label} (1448-byte chunks)`, frame, 'Buffer.concat', copy);

    let got = 0;
    const decode = time(() => {
      got = 0;
      for (const m of msgs) {
        const u = decodeMessage(m, ctx) as UpdateMessage;
        got += family === 4 ? u.nlri.length : u.attributes.mpReach!.nlri.length;
      }
    });
    if (got !== N) throw new Error(`decoded ${got} prefixes, want ${N}`);
    row(`decode ${label}`, decode, 'JSON.parse', jsonIn);
  }
}
const rss = process.memoryUsage().rss;
console.log(`peak-ish RSS at the end: ${(rss / 1e6).toFixed(0)} MB`);
