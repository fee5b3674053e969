// Child process for the health lab test: runs a HealthChecker inside the namespace it was started
// in, prints "ready" and then one JSON line per health change; exits on SIGTERM.
//   node --import tsx test/lab/health-child.ts TARGETS-JSON
import { Registry } from 'prom-client';
import { HealthChecker, type HealthTarget } from '../../src/health/index.js';
import { silentLogger } from '../../src/lib/logger.js';

const targets = JSON.parse(process.argv[2] ?? '[]') as HealthTarget[];
const hc = new HealthChecker({ logger: silentLogger(), registry: new Registry(), firstProbeJitterMs: 0 });
hc.on('change', (service: string, endpoint: string, healthy: boolean) => {
  const st = hc.status(service).find((s) => s.endpoint === endpoint);
  process.stdout.write(`${JSON.stringify({ service, endpoint, healthy, failure: st?.lastOutcome?.failure ?? null, detail: st?.lastOutcome?.detail ?? null })}\n`);
});
let probed = 0;
hc.on('probe', () => {
  if (++probed === targets.reduce((n, t) => n + t.endpoints.length, 0)) process.stdout.write('ready\n');
});
hc.setTargets(targets);
process.on('SIGTERM', () => {
  hc.stop();
  process.exit(0);
});
