// Child of heartbeat-priority.test.ts: runs the daemon in-process (startDaemon + the node runtime)
// with a two-member cluster on loopback and the config file given, then prints one JSON line: how
// the heartbeat thread got scheduled (Membership and the kernel's own view of every thread of
// this process), the scheduling gauge, the log lines at warn and above, and whether /healthz
// answered. Usage: node [flags] --import tsx test/unit/heartbeat-priority-child.ts CONFIG
import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { startDaemon } from '../../src/daemon/daemon.js';
import { createNodeRuntime } from '../../src/daemon/runtime.js';
import { createLogger } from '../../src/lib/logger.js';

const logs: Array<{ level: number; msg: string }> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as { level: number; msg: string });
    cb();
  },
});
const logger = createLogger({ level: 'info', destination: sink });

/** Every thread of this process with a real-time policy: /proc/self/task/TID/stat fields 40-41. */
function realtimeThreads(): Array<{ tid: number; rtPriority: number; policy: number }> {
  const out = [];
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    const rtPriority = Number(f[40 - 3]);
    const policy = Number(f[41 - 3]);
    if (policy === 1 || policy === 2) out.push({ tid: Number(tid), rtPriority, policy });
  }
  return out;
}

const d = await startDaemon({ config: process.argv[2]!, watch: false, logger, createConsumer: createNodeRuntime });
try {
  const gauge = await d.registry.getSingleMetric('edgelb_cluster_heartbeat_scheduling')!.get();
  const healthz = (await fetch(`${d.api.url}/healthz`)).status;
  await new Promise((r) => setTimeout(r, 50)); // the asynchronous log sink
  const started = logs.find((l) => l.msg === 'cluster membership started' || l.msg.startsWith('cluster membership started without')) as { scheduling?: string } | undefined;
  process.stdout.write(
    JSON.stringify({
      scheduling: started?.scheduling,
      threads: realtimeThreads(),
      gauge: gauge.values.map((v) => ({ labels: v.labels, value: v.value })),
      warnings: logs.filter((l) => l.level >= 40).map((l) => l.msg),
      infos: logs.filter((l) => l.level === 30).map((l) => l.msg),
      healthz,
    }) + '\n',
  );
} finally {
  await d.stop('shutdown');
}
