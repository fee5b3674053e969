// The controller process (`edgelb controller`, a Deployment of 2 replicas): the Kubernetes writer
// split from the speakers, as MetalLB splits its controller from its speakers. It watches what the
// nodes watch, competes for the Lease, and while holding it does IPAM and writes Service, IPPool,
// BGPPeer (summary and condition) and BGPPolicy status and Events. It runs no node: no data path,
// no BGP, no ARP. It serves /metrics and /healthz only, and stops on SIGTERM/SIGINT (releasing the
// Lease so the other replica takes over at once).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { dirname, resolve } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { LevelWithSilent } from 'pino';
import { parseConfig } from '../config/load.js';
import { createMetricsServer, listenApi, type ApiApp, type ListeningAddress } from '../api/server.js';
import { ConfigError, EdgelbError, errorMessage, isEdgelbError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { waitFor } from '../lib/backoff.js';
import type { LbMode } from '../model/desired-state.js';
import { EXIT } from './daemon.js';

export interface ControllerOptions {
  /** The ConfigMap's settings file (cluster.shards, defaults); its node section is not used. */
  config?: string;
  /** Where /metrics and /healthz listen (ip:port). */
  listen: string;
  logLevel?: LevelWithSilent;
  defaultClass?: boolean;
  defaultLbMode?: LbMode;
  /** Lease holder identity; default POD_NAME, else hostname and pid. */
  identity?: string;
  /** Lease timings (tests shorten them). */
  leaseDurationSec?: number;
  leaderRetryMs?: number;
  logger?: Logger;
  errorOut?: (text: string) => void;
}

export interface ControllerHandle {
  readonly metrics: ListeningAddress;
  readonly identity: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/** The settings the writer plans with: the file's (its node section filled in when absent). */
function settingsOf(o: ControllerOptions, identity: string) {
  const text = o.config ? readFileSync(o.config, 'utf8') : '';
  // the controller runs no node: the node section only has to validate (a name and an interface)
  const env = { ...process.env, NODE_NAME: process.env.NODE_NAME || identity };
  const raw = text.trim() ? text : 'node: { interface: none }\n';
  const withIface = /(^|\n)node:/.test(raw) ? raw : `${raw}\nnode: { interface: none }\n`;
  return parseConfig(withIface, {
    kubernetes: true,
    env,
    source: o.config ?? '(no --config)',
    ...(o.config ? { baseDir: dirname(resolve(o.config)) } : {}),
    ...(o.defaultLbMode ? { defaultLbMode: o.defaultLbMode } : {}),
    // the node's secrets (cluster key, API token) are the nodes' to read, not mounted here
    statFile: () => ({ mode: 0o600, size: 1 }),
    readSecret: () => 'not-read-by-the-controller',
    interfaceAddress: () => undefined,
  }).state;
}

export async function startController(o: ControllerOptions): Promise<ControllerHandle> {
  const logger = o.logger ?? createLogger({ level: o.logLevel ?? 'info' });
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  // the shards the nodes run with (their default cluster section when the file has none), so the
  // shard the controller records for a Service is one the nodes have
  const { withClusterDefaults } = await import('../k8s/node-settings.js');
  const settings = withClusterDefaults(settingsOf(o, identity), dirname(resolve(o.config ?? '/etc/edgelb/config.yaml')));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { KubernetesSource } = await import('../k8s/source.js');
  const src = new KubernetesSource({
    role: 'controller',
    nodeName: settings.node.name,
    settings,
    logger,
    registry,
    identity,
    ...(o.defaultClass ? { defaultClass: true } : {}),
    ...(o.defaultLbMode ? { defaultLbMode: o.defaultLbMode } : {}),
    ...(o.leaseDurationSec !== undefined ? { leaseDurationSec: o.leaseDurationSec } : {}),
    ...(o.leaderRetryMs !== undefined ? { leaderRetryMs: o.leaderRetryMs } : {}),
  });
  let app: ApiApp | undefined;
  try {
    app = createMetricsServer({ listen: o.listen, registry, logger });
    const metrics = await listenApi(app, o.listen);
    await src.start();
    await waitFor(() => src.synced || undefined, { timeoutMs: 120_000, intervalMs: 100, what: 'the first list of every watched resource' });
    logger.info({ identity, metrics: metrics.url, shards: settings.cluster?.shards ?? 1 }, 'controller started; waiting for the Lease');
    let stopping: Promise<void> | undefined;
    return {
      metrics,
      identity,
      isLeader: () => src.isLeader,
      stop: () =>
        (stopping ??= (async () => {
          logger.info('controller stopping');
          await src.stop();
          await app!.close();
          logger.info('controller stopped');
        })()),
    };
  } catch (e) {
    await src.stop().catch(() => undefined);
    await app?.close();
    throw isEdgelbError(e) ? e : new EdgelbError('EDGELB_ERR_K8S', `controller could not start: ${errorMessage(e)}`, { cause: e });
  }
}

/** Run in the foreground until SIGTERM/SIGINT; resolves with the exit code. */
export async function runController(o: ControllerOptions): Promise<number> {
  // a burst of Service events makes plan passes over every Service, each a few MiB of short-lived
  // copies: V8's default heap growth let the old generation reach 2-3x the live data before it
  // collected. --optimize-for-size grows it less eagerly (the heap limit stays closer to what is
  // live) at some GC CPU; set here, for this process only, so the node agents keep their flags.
  setFlagsFromString('--optimize-for-size');
  const errorOut = o.errorOut ?? ((t: string) => process.stderr.write(t));
  const logger = o.logger ?? createLogger({ level: o.logLevel ?? 'info' });
  let h: ControllerHandle;
  try {
    h = await startController({ ...o, logger });
  } catch (e) {
    const code = isEdgelbError(e) ? e.code : 'EDGELB_ERR_INTERNAL';
    logger.error({ code, err: errorMessage(e) }, 'controller could not start');
    errorOut(`edgelb: ${code}: ${errorMessage(e)}\n`);
    return e instanceof ConfigError || code === 'EDGELB_ERR_CONFIG_READ' ? EXIT.CONFIG : EXIT.ERROR;
  }
  return new Promise<number>((resolve) => {
    let signalled = 0;
    const onStop = (sig: NodeJS.Signals) => {
      if (++signalled > 1) {
        logger.warn({ signal: sig }, 'second stop signal: exiting now');
        process.exit(EXIT.ERROR);
      }
      logger.info({ signal: sig }, 'stop signal: releasing the Lease');
      h.stop().then(
        () => {
          process.off('SIGTERM', onStop);
          process.off('SIGINT', onStop);
          resolve(EXIT.OK);
        },
        (e: unknown) => {
          logger.error({ err: errorMessage(e) }, 'stop failed');
          resolve(EXIT.ERROR);
        },
      );
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
}
