// The daemon process (`edgelb daemon`): one foreground process, never forking. Loads the config
// (a bad one is printed with every path and the process exits 78), builds the logger, the metrics
// registry and the API server, hands each good desired state to a StateConsumer (the node agent,
// built by `createConsumer`: the node runtime in production), reloads on SIGHUP and when the file changes
// (a bad reload is logged and the last good state kept), and stops on SIGTERM/SIGINT with exit 0.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LevelWithSilent } from 'pino';
import { ConfigSource } from '../config/watch.js';
import { parseConfig } from '../config/load.js';
import { createApiServer, createMetricsServer, listenApi, type ApiApp, type ListeningAddress } from '../api/server.js';
import { createViewsServer } from '../api/views-server.js';
import { desiredStateViews, type ApiViews } from '../api/views.js';
import { ConfigError, EdgelbError, errorMessage, isEdgelbError, type Issue } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logger.js';
import type { DesiredState, LbMode } from '../model/desired-state.js';

/** What receives each good desired state: the node agent (or, by default, nothing). */
export interface StateConsumer {
  /** Reconcile to this state. A rejection is logged and the success gauge set to 0; the daemon
   *  keeps running. An error with `lagging` (ApplyPartialError) names the engines that lag. */
  apply(state: DesiredState): Promise<void>;
  /** Views the consumer serves; missing ones fall back to views of the desired state itself. */
  views(): Partial<ApiViews>;
  /** 'restart' (SIGTERM/SIGINT): keep routes and data path for a hitless restart (graceful
   *  restart); 'shutdown': withdraw and let go (a drained node, or a programmatic stop);
   *  'uninstall' (the DaemonSet was deleted): withdraw, detach XDP and remove the pins. */
  stop(mode: StopMode): Promise<void>;
}

export interface ConsumerContext {
  logger: Logger;
  registry: Registry;
  /** The first good desired state (apply() is still called with it). */
  initial: DesiredState;
  kubernetes: boolean;
  /** Where the consumer publishes its BGP sessions for the Kubernetes BGPPeer status. */
  neighbors: NeighborReport;
}

export type StopMode = 'restart' | 'shutdown' | 'uninstall';

/** One row of a BGP session as the BGPPeer status shows it. */
export interface NeighborStatusRow {
  address: string;
  state: string;
  uptimeSec: number;
  prefixesSent: number;
  lastError?: string;
}

/** What this node carries now, for its Kubernetes NodeReport (VIPs as canonical addresses). */
export interface CarriedRow {
  /** VIPs at least one Established BGP session has been sent. */
  bgp: string[];
  /** VIPs this node answers ARP/NDP for (the L2 owner). */
  l2: string[];
  /** VIPs this node is given but does not announce, with the agent's reason. */
  withheld: Array<{ vip: string; reason: string }>;
}

/** A late link: the Kubernetes source is built before the runtime's speaker, which fills `rows`
 *  (and `carried`, once the node agent exists). */
export interface NeighborReport {
  rows: () => NeighborStatusRow[];
  carried?: () => CarriedRow;
}

/** A source of desired states other than the file (the Kubernetes watchers). */
export interface StateSource {
  /** The first desired state; throws when none can be built. */
  start(): Promise<DesiredState>;
  on(event: 'state', listener: (state: DesiredState) => void): unknown;
  close(): void | Promise<void>;
  /** On a stop signal: 'uninstall' when what runs this daemon is being deleted (not updated). */
  stopMode?(): Promise<'restart' | 'uninstall'>;
  /** Kubernetes mode: the ConfigMap file was reloaded (its node-level settings). */
  updateSettings?(settings: DesiredState): void;
  /** Kubernetes mode: the reloaded file was refused (the last good settings are kept). */
  settingsRejected?(message: string): void;
}

/** What the Kubernetes source is built from: the file's node settings and the daemon's flags. */
export interface KubernetesSourceContext {
  base: DesiredState;
  logger: Logger;
  registry: Registry;
  neighbors: NeighborReport;
  /** `--default-class`: serve Services with no loadBalancerClass. */
  defaultClass?: boolean;
  /** `--default-lbmode`: mode of Services without an lbmode annotation. */
  defaultLbMode?: LbMode;
  /** `--controller`: this process also holds the Lease and writes status (all-in-one). */
  controller?: boolean;
  /** The --config file, if any (its folder holds the default cluster key, cluster/key). */
  configPath?: string;
}

export interface DaemonOptions {
  /** The YAML file (required unless `kubernetes`, where it gives node-level settings only). */
  config?: string;
  kubernetes?: boolean;
  /** Reload when the file changes (default true; tests that drive reload() themselves turn it off). */
  watch?: boolean;
  logLevel?: LevelWithSilent;
  /** Mode of services that give none (`--default-lbmode`). */
  defaultLbMode?: LbMode;
  /** Kubernetes mode: also serve LoadBalancer Services with no loadBalancerClass (`--default-class`). */
  defaultClass?: boolean;
  /** Kubernetes mode: also be the controller (Lease, IPAM, status writes) — `--controller`. */
  controller?: boolean;
  /** A logger to use instead of a new one on stdout (tests). */
  logger?: Logger;
  /** Build the consumer of desired states (the node agent). Default: none; views come from the
   *  desired state itself and /v1/services lists the configured services. */
  createConsumer?: (ctx: ConsumerContext) => StateConsumer | Promise<StateConsumer>;
  /** Kubernetes mode: the source of services, pools, peers and policies. */
  createKubernetesSource?: (ctx: KubernetesSourceContext) => StateSource | Promise<StateSource>;
  /** Where human-readable startup errors go (default stderr). */
  errorOut?: (text: string) => void;
}

export interface Daemon {
  readonly api: ListeningAddress;
  /** The metrics-only listener (api.metricsListen), when configured. */
  readonly metrics?: ListeningAddress;
  /** The read-only views listener (api.viewsListen), when configured. */
  readonly views?: ListeningAddress;
  readonly registry: Registry;
  readonly logger: Logger;
  /** The desired state last applied. */
  current(): DesiredState;
  /** Re-read the file now (what SIGHUP does); true when a new state was applied. */
  reload(reason?: string): Promise<boolean>;
  /** Stop: consumer first, then the API and the watcher. Idempotent. */
  stop(mode?: StopMode): Promise<void>;
  /** What a stop signal means now: 'restart' (hitless), or 'uninstall' when the source says so. */
  signalStopMode(): Promise<'restart' | 'uninstall'>;
}

/** A consumer that only remembers the state: views come from the desired state. */
export function nullConsumer(): StateConsumer {
  return { apply: async () => undefined, views: () => ({}), stop: async () => undefined };
}

/** The engines that lag after a partial apply (an error with `lagging`), else undefined. */
function lagsOf(e: unknown): string[] | undefined {
  const l = (e as { lagging?: Array<{ engine: string }> } | undefined)?.lagging;
  return Array.isArray(l) ? l.map((x) => x.engine) : undefined;
}

/** Exit codes (docs/errors.md). */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, UNAVAILABLE: 69, CONFIG: 78 } as const;

function issueLines(issues: readonly Issue[]): string[] {
  return issues.map((i) => `${i.path || '(root)'}: ${i.message}`);
}

/**
 * Start the daemon and return a handle (no signal handling: see runDaemon). Throws ConfigError /
 * EdgelbError when the first config is bad or the API cannot listen.
 */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const logger = opts.logger ?? createLogger({ level: opts.logLevel ?? 'info' });
  const kubernetes = opts.kubernetes === true;
  if (!opts.config && !kubernetes) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'edgelb daemon needs --config FILE (or --kubernetes)');
  const loadOpts = { kubernetes, ...(opts.defaultLbMode ? { defaultLbMode: opts.defaultLbMode } : {}) };

  // ---- the first desired state
  let fileSource: ConfigSource | undefined;
  let base: DesiredState;
  let warnings: Issue[] = [];
  if (opts.config) {
    // Kubernetes mode watches the file too: a ConfigMap change reaches the source (node settings)
    fileSource = new ConfigSource(opts.config, { ...loadOpts, logger, watch: opts.watch !== false });
    const loaded = await fileSource.start();
    base = loaded.state;
    warnings = loaded.warnings;
  } else {
    const loaded = parseConfig('', { ...loadOpts, source: '(no --config)' });
    base = loaded.state;
    warnings = loaded.warnings;
  }
  for (const w of warnings) logger.warn({ path: w.path }, `config warning: ${w.path}: ${w.message}`);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reloads = new Counter({
    name: 'edgelb_config_reloads_total',
    help: 'Configuration loads after the first, by result (applied, invalid, failed)',
    labelNames: ['result'],
    registers: [registry],
  });
  const lastOk = new Gauge({
    name: 'edgelb_config_last_reload_successful',
    help: '1 when the last configuration load was applied, 0 when it was rejected',
    registers: [registry],
  });
  const lastOkTime = new Gauge({
    name: 'edgelb_config_last_reload_success_timestamp_seconds',
    help: 'When a configuration was last applied (Unix time)',
    registers: [registry],
  });

  const neighbors: NeighborReport = { rows: () => [] };
  let kubeSource: StateSource | undefined;
  let earlyKubeState: DesiredState | undefined;
  let onKubeState: ((state: DesiredState) => void) | undefined;
  if (kubernetes) {
    if (!opts.createKubernetesSource) {
      fileSource?.close();
      throw new EdgelbError('EDGELB_ERR_K8S', 'Kubernetes mode needs createKubernetesSource (the caller passed none)');
    }
    kubeSource = await opts.createKubernetesSource({
      base,
      logger,
      registry,
      neighbors,
      ...(opts.defaultClass ? { defaultClass: true } : {}),
      ...(opts.defaultLbMode ? { defaultLbMode: opts.defaultLbMode } : {}),
      ...(opts.controller ? { controller: true } : {}),
      ...(opts.config ? { configPath: opts.config } : {}),
    });
    // states that come while the consumer and the API start are kept (the last one) and applied
    // once the daemon is ready: the leader's first writes land in this window, and the source
    // emits a state only when it changes, so one dropped here would never come again
    kubeSource.on('state', (state) => {
      if (onKubeState) onKubeState(state);
      else earlyKubeState = state;
    });
    base = await kubeSource.start();
  }

  let current = base;
  let consumer: StateConsumer;
  try {
    consumer = await (opts.createConsumer ?? nullConsumer)({ logger, registry, initial: base, kubernetes, neighbors });
  } catch (e) {
    fileSource?.close();
    await kubeSource?.close();
    throw e;
  }
  try {
    await consumer.apply(base);
    lastOk.set(1);
    lastOkTime.set(Date.now() / 1000);
  } catch (e) {
    lastOk.set(0);
    logger.error(
      { err: errorMessage(e), code: isEdgelbError(e) ? e.code : undefined, lagging: lagsOf(e) },
      'the first desired state could not be applied by every engine; serving it anyway, the lagging engines are retried',
    );
  }

  // ---- API: consumer views first, desired-state views for the rest
  const fallback = desiredStateViews(() => current);
  const views: ApiViews = { ...fallback, ...consumer.views() };
  let app: ApiApp;
  let api: ListeningAddress;
  try {
    app = createApiServer({ listen: base.api.listen, token: base.api.token, registry, views, logger });
    api = await listenApi(app, base.api.listen);
  } catch (e) {
    fileSource?.close();
    await kubeSource?.close();
    await consumer.stop('restart').catch(() => undefined);
    throw isEdgelbError(e) ? e : new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `API cannot listen on ${base.api.listen}: ${errorMessage(e)}`, { cause: e });
  }
  logger.info({ url: api.url, port: api.port, node: base.node.name, services: base.services.length }, `API listening on ${api.url}`);
  let metricsApp: ApiApp | undefined;
  let metrics: ListeningAddress | undefined;
  if (base.api.metricsListen) {
    try {
      metricsApp = createMetricsServer({ listen: base.api.metricsListen, registry, logger });
      metrics = await listenApi(metricsApp, base.api.metricsListen);
    } catch (e) {
      fileSource?.close();
      await kubeSource?.close();
      await app.close();
      await consumer.stop('restart').catch(() => undefined);
      throw isEdgelbError(e) ? e : new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `metrics listener cannot listen on ${base.api.metricsListen}: ${errorMessage(e)}`, { cause: e });
    }
    logger.info({ url: metrics.url }, `metrics (/metrics, /healthz only) listening on ${metrics.url}`);
  }
  let viewsApp: ApiApp | undefined;
  let viewsAddr: ListeningAddress | undefined;
  if (base.api.viewsListen) {
    try {
      viewsApp = createViewsServer({ listen: base.api.viewsListen, views, logger });
      viewsAddr = await listenApi(viewsApp, base.api.viewsListen);
    } catch (e) {
      fileSource?.close();
      await kubeSource?.close();
      await app.close();
      await metricsApp?.close();
      await consumer.stop('restart').catch(() => undefined);
      throw isEdgelbError(e) ? e : new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `views listener cannot listen on ${base.api.viewsListen}: ${errorMessage(e)}`, { cause: e });
    }
    logger.info({ url: viewsAddr.url }, `read-only views (GET /v1 views, /healthz) listening on ${viewsAddr.url}`);
  }

  // ---- later states: one at a time, in order
  let chain: Promise<unknown> = Promise.resolve();
  const apply = (state: DesiredState, reason: string, warns: Issue[]): Promise<boolean> => {
    const run = async (): Promise<boolean> => {
      if (state.api.listen !== current.api.listen || state.api.token !== current.api.token)
        logger.warn({ listen: state.api.listen }, 'api settings changed: they take effect at the next restart');
      if (state.node.name !== current.node.name) logger.warn({ from: current.node.name, to: state.node.name }, 'node.name changed: restart the daemon');
      for (const w of warns) logger.warn({ path: w.path }, `config warning: ${w.path}: ${w.message}`);
      try {
        await consumer.apply(state);
      } catch (e) {
        reloads.inc({ result: 'failed' });
        lastOk.set(0);
        const lagging = lagsOf(e);
        if (lagging) {
          // some engines run the new state, the named ones keep their previous input: say exactly that
          logger.error({ reason, err: errorMessage(e), code: 'EDGELB_ERR_APPLY_PARTIAL', lagging }, `config applied only in part: ${lagging.join(', ')} lag behind and are retried`);
        } else {
          logger.error({ reason, err: errorMessage(e) }, 'new desired state could not be applied; keeping the previous one');
        }
        return false;
      }
      current = state;
      reloads.inc({ result: 'applied' });
      lastOk.set(1);
      lastOkTime.set(Date.now() / 1000);
      logger.info({ reason, services: state.services.length, pools: state.pools.length, peers: state.bgp?.peers.length ?? 0 }, 'config applied');
      return true;
    };
    const p = chain.then(run, run);
    chain = p.catch(() => undefined);
    return p;
  };

  fileSource?.on('state', (state, info) => {
    if (!kubernetes) void apply(state, info.reason, info.warnings);
    else {
      for (const w of info.warnings) logger.warn({ path: w.path }, `config warning: ${w.path}: ${w.message}`);
      logger.info({ reason: info.reason }, 'node settings file reloaded');
      kubeSource?.updateSettings?.(state);
    }
  });
  fileSource?.on('invalid', (err, info) => {
    reloads.inc({ result: 'invalid' });
    lastOk.set(0);
    const issues = err instanceof ConfigError ? err.issues : [];
    if (kubernetes) kubeSource?.settingsRejected?.(issues.length ? issueLines(issues).join('; ') : err.message);
    logger.error(
      { reason: info.reason, code: err.code, issues: issueLines(issues), source: info.source },
      issues.length ? `config rejected, keeping the last good one: ${issueLines(issues).join('; ')}` : `config rejected, keeping the last good one: ${err.message}`,
    );
  });
  onKubeState = (state) => void apply(state, 'kubernetes', []);
  if (earlyKubeState) onKubeState(earlyKubeState);
  earlyKubeState = undefined;

  let stopping: Promise<void> | undefined;
  const stop = (mode: StopMode = 'shutdown'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ mode }, 'stopping');
      fileSource?.close();
      try {
        // the source's last word on the stop mode is asked before stop(); closing it here is safe
        await kubeSource?.close();
      } catch (e) {
        logger.warn({ err: errorMessage(e) }, 'Kubernetes source did not close cleanly');
      }
      await chain.catch(() => undefined);
      try {
        await consumer.stop(mode);
      } catch (e) {
        logger.error({ err: errorMessage(e) }, 'the node agent did not stop cleanly');
      }
      await app.close();
      await metricsApp?.close();
      await viewsApp?.close();
      logger.info('stopped');
    })();
    return stopping;
  };

  return {
    api,
    ...(metrics ? { metrics } : {}),
    ...(viewsAddr ? { views: viewsAddr } : {}),
    registry,
    logger,
    current: () => current,
    reload: async (reason = 'reload') => {
      if (!fileSource) return false;
      // Kubernetes mode: the file's node settings go to the source ('state' event), not the agent
      if (kubernetes) return !!(await fileSource.reload(reason));
      const loaded = await fileSource.reload(reason);
      if (!loaded) return false;
      // the 'state' event queued the apply; wait for it
      await chain;
      return current === loaded.state;
    },
    stop,
    signalStopMode: async () => {
      if (!kubeSource?.stopMode) return 'restart';
      try {
        return await kubeSource.stopMode();
      } catch (e) {
        logger.warn({ err: errorMessage(e) }, 'could not tell an uninstall from a restart: keeping the data path (restart)');
        return 'restart';
      }
    },
  };
}

/**
 * Run the daemon in the foreground until SIGTERM/SIGINT; resolves with the process exit code.
 * SIGHUP reloads the file. A bad first config prints every issue with its path and returns 78.
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const errorOut = opts.errorOut ?? ((t: string) => process.stderr.write(t));
  const logger = opts.logger ?? createLogger({ level: opts.logLevel ?? 'info' });
  // a SIGHUP during start-up must not kill the process (its default action): remember it
  let hupWhileStarting = false;
  const earlyHup = () => {
    hupWhileStarting = true;
  };
  process.on('SIGHUP', earlyHup);
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ ...opts, logger });
  } catch (e) {
    process.off('SIGHUP', earlyHup);
    const code = isEdgelbError(e) ? e.code : 'EDGELB_ERR_INTERNAL';
    if (e instanceof ConfigError) logger.error({ code, issues: issueLines(e.issues) }, 'config rejected; not starting');
    else logger.error({ code, err: errorMessage(e) }, 'daemon could not start');
    errorOut(`edgelb: ${code}: ${errorMessage(e)}\n`);
    await flush(logger);
    return code === 'EDGELB_ERR_CONFIG_INVALID' || code === 'EDGELB_ERR_CONFIG_READ' ? EXIT.CONFIG : EXIT.ERROR;
  }

  return new Promise<number>((resolve) => {
    let signalled = 0;
    const onHup = () => {
      logger.info('SIGHUP: reloading the configuration');
      void daemon.reload('SIGHUP');
    };
    const onStop = (sig: NodeJS.Signals) => {
      signalled++;
      if (signalled > 1) {
        logger.warn({ signal: sig }, 'second stop signal: exiting now');
        void flush(logger).then(() => process.exit(EXIT.ERROR));
        return;
      }
      daemon
        .signalStopMode()
        .then((mode) => {
          if (mode === 'uninstall') logger.warn({ signal: sig }, 'stop signal and the DaemonSet is deleted: uninstalling (routes withdrawn, XDP detached, pins removed)');
          else logger.info({ signal: sig }, 'stop signal: closing sockets, keeping routes and data path for a restart');
          return daemon.stop(mode);
        })
        .then(
        async () => {
          process.off('SIGHUP', onHup);
          process.off('SIGTERM', onStop);
          process.off('SIGINT', onStop);
          await flush(logger);
          resolve(EXIT.OK);
        },
        async (e: unknown) => {
          logger.error({ err: errorMessage(e) }, 'stop failed');
          await flush(logger);
          resolve(EXIT.ERROR);
        },
      );
    };
    process.on('SIGHUP', onHup);
    process.off('SIGHUP', earlyHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    if (hupWhileStarting) onHup();
  });
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
