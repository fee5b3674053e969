// Lab runner for the cluster heartbeat tests (test/lab/cluster-heartbeat.test.ts):
//   node: Membership + ShardManager with the shard-claims codec; prints JSON lines: 'started'
//         (with its wall clock, to show faketime works), 'live' on every change of the live set,
//         'dead' per death, 'shards' when its masterships change, and 'stats' every 250 ms
//         (heartbeats dropped by reason, deaths, heartbeats received).
// The junk flood comes from test/lab/junk-sender.py (Python's blocking sendto keeps 24k/s where
// Node's dgram did not on a busy 2-core machine).
// Usage: node --import tsx test/lab/cluster-runner.ts <mode> '<json options>'
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { claimsPayloadCodec } from '../../src/cluster/claims-codec.js';
import { Membership } from '../../src/cluster/membership.js';
import { ShardManager } from '../../src/cluster/shard-manager.js';
import { createLogger } from '../../src/lib/logger.js';

const [mode, json] = process.argv.slice(2);
const opts = JSON.parse(json ?? '{}');
const emit = (ev: string, o: object = {}) => process.stdout.write(JSON.stringify({ ev, ...o }) + '\n');

async function metric(r: Registry, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await r.getSingleMetric(name)!.get()).values) out[String(v.labels.reason ?? 'total')] = v.value;
  return out;
}

async function runNode(o: { name: string; listen: string; members: string[]; keyFile: string; shards: number; intervalMs?: number; deadAfterMs?: number; holdDownMs?: number }) {
  const logger = createLogger({ level: 'warn' });
  const registry = new Registry();
  const membership = new Membership({
    self: o.name,
    listen: o.listen,
    members: o.members,
    key: readFileSync(o.keyFile),
    intervalMs: o.intervalMs,
    deadAfterMs: o.deadAfterMs,
    payloadCodec: claimsPayloadCodec(o.shards),
    logger,
    registry,
  });
  const shards = new ShardManager({ self: o.name, shards: o.shards, membership, holdDownMs: o.holdDownMs ?? 1000, logger, registry });
  membership.on('change', (live: string[]) => emit('live', { live }));
  membership.on('dead', (d: { name: string }) => emit('dead', { peer: d.name }));
  shards.on('change', () => emit('shards', { mastered: shards.mastered().length }));
  await membership.start();
  shards.start();
  emit('started', { wall: Date.now(), live: membership.live() });
  const stats = setInterval(() => {
    void (async () => {
      emit('stats', {
        live: membership.live(),
        mastered: shards.mastered().length,
        dropped: await metric(registry, 'edgelb_cluster_heartbeats_dropped_total'),
        deaths: (await metric(registry, 'edgelb_cluster_member_deaths_total')).total ?? 0,
        received: (await metric(registry, 'edgelb_cluster_heartbeats_received_total')).total ?? 0,
      });
    })();
  }, 250);
  const stop = async () => {
    clearInterval(stats);
    shards.stop();
    await membership.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

if (mode === 'node') void runNode(opts);
else {
  console.error('usage: cluster-runner.ts node JSON');
  process.exit(2);
}
