// Property tests of the config check (fast-check): generated valid files always validate, with
// every VIP unique and inside its pool, shards in range and a deterministic result; and any set
// of independent faults injected into a valid file is reported exactly, path by path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/lib/errors.js';
import { validateConfig, poolBlocks, blockContains } from '../../src/config/index.js';

interface Gen {
  pools: number;
  shards: number;
  peers: number;
  services: Array<{ pool: number; explicit: boolean; host: number; ports: number[]; shard: number | null }>;
}

const gen: fc.Arbitrary<Gen> = fc
  .record({ pools: fc.integer({ min: 1, max: 4 }), shards: fc.integer({ min: 1, max: 8 }), peers: fc.integer({ min: 0, max: 4 }) })
  .chain((g) =>
    fc.record({
      pools: fc.constant(g.pools),
      shards: fc.constant(g.shards),
      peers: fc.constant(g.peers),
      services: fc.array(
        fc.record({
          pool: fc.integer({ min: 0, max: g.pools - 1 }),
          explicit: fc.boolean(),
          host: fc.integer({ min: 1, max: 254 }),
          ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 3 }),
          shard: fc.option(fc.integer({ min: 0, max: g.shards - 1 })),
        }),
        { maxLength: 25 },
      ),
    }),
  );

function build(g: Gen): Record<string, any> {
  const explicitSeen = new Set<string>();
  return {
    node: { name: 'edge-1', routerId: '10.0.0.11', interface: 'eth0' },
    cluster: { listen: '10.0.0.11:11112', members: ['10.0.0.11'], shards: g.shards },
    bgp: { asn: 64513, peers: Array.from({ length: g.peers }, (_, i) => ({ address: `10.0.0.${i + 1}`, asn: 64512 })) },
    pools: Array.from({ length: g.pools }, (_, i) => ({ name: `p${i}`, cidrs: [`10.${100 + i}.0.0/24`] })),
    services: g.services.map((s, i) => {
      const vip = `10.${100 + s.pool}.0.${s.host}`;
      // an explicit VIP may repeat only when all its ports are new; keep it simple: unique
      const explicit = s.explicit && !explicitSeen.has(vip) && (explicitSeen.add(vip), true);
      return {
        name: `svc-${i}`,
        ...(explicit ? { vip } : { pool: `p${s.pool}` }),
        ...(s.shard !== null ? { shard: s.shard } : {}),
        ports: s.ports,
        endpoints: ['10.1.0.1'],
      };
    }),
  };
}

test('config (property): generated valid files validate; VIPs unique, inside their pool; deterministic', () => {
  fc.assert(
    fc.property(gen, (g) => {
      const raw = build(g);
      const a = validateConfig(structuredClone(raw));
      const b = validateConfig(structuredClone(raw));
      assert.deepEqual(a.state, b.state);
      const seen = new Set<string>();
      for (const s of a.state.services) {
        assert.equal(s.vips.length, 1);
        const pool = a.state.pools.find((p) => p.name === s.pool)!;
        assert.ok(poolBlocks(pool).some((bl) => blockContains(bl, s.vips[0]!)), `${s.vips[0]} in ${pool.name}`);
        assert.ok(!s.vips[0]!.endsWith('.0') && !s.vips[0]!.endsWith('.255'), 'never the network or broadcast address when allocated');
        for (const p of s.ports) {
          const k = `${s.vips[0]}|${p.port}|${p.protocol}`;
          assert.ok(!seen.has(k), k);
          seen.add(k);
        }
        assert.ok(s.shard >= 0 && s.shard < g.shards);
      }
      assert.equal(a.state.services.length, g.services.length);
    }),
    { numRuns: 150 },
  );
});

type Fault = (c: Record<string, any>) => string;
const FAULTS: Array<{ applies: (c: Record<string, any>, i: number) => boolean; inject: (i: number) => Fault }> = [
  // peer asn out of range
  { applies: (c, i) => i < c.bgp.peers.length, inject: (i) => (c) => ((c.bgp.peers[i].asn = 0), `bgp.peers[${i}].asn`) },
  // peer holdTime 1
  { applies: (c, i) => i < c.bgp.peers.length, inject: (i) => (c) => ((c.bgp.peers[i].holdTime = 1), `bgp.peers[${i}].holdTime`) },
  // service shard too large
  { applies: (c, i) => i < c.services.length, inject: (i) => (c) => ((c.services[i].shard = c.cluster.shards), `services[${i}].shard`) },
  // service in an unknown pool
  { applies: (c, i) => i < c.services.length, inject: (i) => (c) => (delete c.services[i].vip, (c.services[i].pool = 'nope'), `services[${i}].pool`) },
  // a port out of range
  { applies: (c, i) => i < c.services.length, inject: (i) => (c) => ((c.services[i].ports = [70000]), `services[${i}].ports[0].port`) },
  // a VIP outside every pool
  // (not together with a broken pool: the validator cannot tell whether a VIP lies in a pool it
  // could not parse, so it reports only the pool)
  { applies: (c, i) => i < c.services.length && !c.pools.some((p: any) => p.cidrs.some((x: string) => x.endsWith('.0.1/24'))), inject: (i) => (c) => (delete c.services[i].pool, (c.services[i].vip = `192.0.2.${i + 1}`), `services[${i}].vip`) },
  // a pool CIDR with host bits (only pools nobody uses, so no service error follows)
  { applies: (c, i) => i < c.pools.length && !c.services.some((s: any) => s.pool === c.pools[i].name || (s.vip ?? '').startsWith(`10.${100 + i}.`) || (s.vip ?? '').startsWith('192.0.2.')), inject: (i) => (c) => ((c.pools[i].cidrs = [`10.${100 + i}.0.1/24`]), `pools[${i}].cidrs[0]`) },
];

test('config (property): independent faults are all reported, each at its own path, nothing else', () => {
  fc.assert(
    fc.property(gen, fc.array(fc.tuple(fc.nat(FAULTS.length - 1), fc.nat(30)), { minLength: 1, maxLength: 6 }), (g, picks) => {
      const c = build(g);
      const want = new Set<string>();
      const touched = new Set<string>(); // one fault per item, so faults stay independent
      for (const [f, i] of picks) {
        const fault = FAULTS[f]!;
        if (!fault.applies(c, i)) continue;
        const item = f < 2 ? `peer${i}` : f === 6 ? `pool${i}` : `svc${i}`;
        if (touched.has(item)) continue;
        touched.add(item);
        want.add(fault.inject(i)(c));
      }
      fc.pre(want.size > 0);
      let err: unknown;
      try {
        validateConfig(c);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, 'rejected');
      assert.deepEqual(err.issues.map((x) => x.path).sort(), [...want].sort(), err.message);
    }),
    { numRuns: 150 },
  );
});
