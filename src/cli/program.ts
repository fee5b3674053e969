// The `edgelb` command line (commander): daemon, controller, get, drain, cleanup, lab demo. Each action
// returns an exit code; errors print as "edgelb: CODE: message" (codes in docs/errors.md).
import { readFileSync } from 'node:fs';
import { Command, Option, CommanderError } from 'commander';
import { EdgelbError, errorMessage, isEdgelbError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { loadConfig } from '../config/load.js';
import type { LbMode } from '../model/desired-state.js';
import { apiRequest, DEFAULT_API, getView, type ViewBodies, type ViewPath } from './client.js';
import { EXIT, runDaemon } from '../daemon/daemon.js';
import { importOptional } from './optional.js';
import { bfdTable, bgpTable, haTable, servicesTable, vipsTable } from './tables.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The exit code of an error (docs/errors.md), after printing it. */
export function reportError(e: unknown, io: Io): number {
  const code = isEdgelbError(e) ? e.code : 'EDGELB_ERR_INTERNAL';
  io.err(`edgelb: ${code}: ${errorMessage(e)}\n`);
  if (code === 'EDGELB_ERR_API_UNREACHABLE') return EXIT.UNAVAILABLE;
  if (code === 'EDGELB_ERR_CONFIG_INVALID' || code === 'EDGELB_ERR_CONFIG_READ') return EXIT.CONFIG;
  return EXIT.ERROR;
}

/** One `edgelb get` view: fetch its typed body and render it. */
const view =
  <P extends ViewPath>(path: P, table: (body: ViewBodies[P]) => string) =>
  async (api: string, token?: string): Promise<{ body: ViewBodies[P]; text: string }> => {
    const body = await getView(api, path, token ? { token } : {});
    return { body, text: table(body) };
  };
const GETS = {
  services: view('/v1/services', servicesTable),
  vips: view('/v1/vips', vipsTable),
  bgp: view('/v1/bgp/neighbors', bgpTable),
  ha: view('/v1/ha', haTable),
  bfd: view('/v1/bfd', bfdTable),
} as const;

const GET_PATHS = { services: '/v1/services', vips: '/v1/vips', bgp: '/v1/bgp/neighbors', ha: '/v1/ha', bfd: '/v1/bfd' } as const satisfies Record<keyof typeof GETS, ViewPath>;

const apiOption = () => new Option('--api <url>', 'daemon API base URL').env('EDGELB_API').default(DEFAULT_API);
const tokenOption = () => new Option('--token <token>', 'API bearer token').env('EDGELB_API_TOKEN');

/** Build the program; `setCode` receives each action's exit code. */
export function buildProgram(io: Io = stdio, setCode: (code: number) => void = (c) => void (process.exitCode = c)): Command {
  const program = new Command('edgelb')
    .description('edge load balancer: BGP/ECMP and L2 announcements, an XDP L4 data path, a Kubernetes LoadBalancer controller')
    .version(version())
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError()
    .exitOverride();
  const wrap =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      try {
        setCode(await fn(...args));
      } catch (e) {
        setCode(reportError(e, io));
      }
    };

  program
    .command('daemon')
    .description('run the edgelb daemon in the foreground (SIGHUP reloads, SIGTERM stops)')
    .option('--config <file>', 'YAML configuration file')
    .option('--kubernetes', 'take services, pools, peers and policies from the Kubernetes API', false)
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .addOption(new Option('--default-lbmode <mode>', 'mode of services that name none').choices(['dnat', 'onearm', 'fullnat', 'dsr']))
    .option('--default-class', 'Kubernetes mode: also serve LoadBalancer Services that have no loadBalancerClass (opt-in)', false)
    .option('--controller', 'Kubernetes mode: also be the controller (Lease, IPAM, Service status), all in one process; without it a node only reads', false)
    .option('--check', 'validate the configuration, print problems and warnings, and exit', false)
    .action(
      // commander names the value of --default-lbmode `defaultLbmode` (it was read as defaultLbMode, always undefined)
      wrap(async (o: { config?: string; kubernetes: boolean; logLevel: string; defaultLbmode?: LbMode; defaultClass: boolean; controller: boolean; check: boolean }) => {
        if (!o.config && !o.kubernetes) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'edgelb daemon needs --config FILE (or --kubernetes)');
        if (o.defaultClass && !o.kubernetes) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', '--default-class needs --kubernetes (it chooses which Services edgelb serves)');
        if (o.controller && !o.kubernetes) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', '--controller needs --kubernetes (it writes Kubernetes Service status)');
        if (o.check) {
          if (!o.config) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', '--check needs --config FILE');
          const r = await loadConfig(o.config, { kubernetes: o.kubernetes, ...(o.defaultLbmode ? { defaultLbMode: o.defaultLbmode } : {}) });
          for (const w of r.warnings) io.err(`warning: ${w.path}: ${w.message}\n`);
          io.out(`${r.source}: valid (${r.state.services.length} services, ${r.state.pools.length} pools, ${r.state.bgp?.peers.length ?? 0} peers)\n`);
          return EXIT.OK;
        }
        const code = await runDaemon({
          ...(o.config ? { config: o.config } : {}),
          kubernetes: o.kubernetes,
          logLevel: o.logLevel as 'info',
          ...(o.defaultLbmode ? { defaultLbMode: o.defaultLbmode } : {}),
          ...(o.defaultClass ? { defaultClass: true } : {}),
          ...(o.controller ? { controller: true } : {}),
          errorOut: io.err,
          createConsumer: async (ctx) => (await import('../daemon/runtime.js')).createNodeRuntime(ctx),
          createKubernetesSource: async (ctx) => (await import('../daemon/kubernetes.js')).createKubernetesSource(ctx),
        });
        return code;
      }),
    );

  program
    .command('controller')
    .description('the Kubernetes writer apart from the nodes (a Deployment): holds the Lease, assigns addresses, writes Service and edgelb object status')
    .option('--config <file>', 'the settings file the nodes read (cluster.shards, defaults); its node section is not used')
    .option('--listen <addr>', '/metrics and /healthz listen here (ip:port)', '0.0.0.0:11115')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .addOption(new Option('--default-lbmode <mode>', 'mode of services that name none').choices(['dnat', 'onearm', 'fullnat', 'dsr']))
    .option('--default-class', 'also serve LoadBalancer Services that have no loadBalancerClass (opt-in)', false)
    .option('--lease-duration <seconds>', 'Lease duration: a dead holder is replaced after about this long (renewed every duration/7.5)', '15')
    .action(
      wrap(async (o: { config?: string; listen: string; logLevel: string; defaultLbmode?: LbMode; defaultClass: boolean; leaseDuration: string }) => {
        const dur = Number(o.leaseDuration);
        if (!Number.isInteger(dur) || dur < 2 || dur > 300) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `--lease-duration must be an integer 2..300 (seconds), got "${o.leaseDuration}"`);
        const { runController } = await import('../daemon/controller.js');
        return runController({
          leaseDurationSec: dur,
          leaderRetryMs: Math.round((dur * 1000) / 7.5),
          listen: o.listen,
          logLevel: o.logLevel as 'info',
          ...(o.config ? { config: o.config } : {}),
          ...(o.defaultLbmode ? { defaultLbMode: o.defaultLbmode } : {}),
          ...(o.defaultClass ? { defaultClass: true } : {}),
          errorOut: io.err,
        });
      }),
    );

  program
    .command('get')
    .description('show what a running daemon does: services, vips, bgp (neighbours), ha (shards) or bfd (sessions)')
    .addArgument(program.createArgument('<what>', 'services | vips | bgp | ha | bfd').choices(Object.keys(GETS)))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(apiOption())
    .addOption(tokenOption())
    .option('--all-nodes', 'ask every edgelb node through the Kubernetes API server (pods/proxy to api.viewsListen), rows under a NODE column', false)
    .option('--kubeconfig <file>', '--all-nodes: kubeconfig (default: KUBECONFIG, ~/.kube/config)')
    .option('-n, --namespace <ns>', "--all-nodes: edgelb's namespace", 'edgelb-system')
    .option('-l, --selector <labels>', '--all-nodes: label selector of the edgelb pods', 'app.kubernetes.io/name=edgelb')
    .addOption(new Option('--views-port <port>', '--all-nodes: views port when a pod names no container port "views"').argParser((v) => Number(v)).default(11114))
    .action(
      wrap(async (what: keyof typeof GETS, o: { output: string; api: string; token?: string; allNodes: boolean; kubeconfig?: string; namespace: string; selector: string; viewsPort: number }) => {
        if (o.allNodes) {
          if (!Number.isInteger(o.viewsPort) || o.viewsPort < 1 || o.viewsPort > 65535) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', '--views-port must be a port number 1..65535');
          const { getAllNodes, allNodesTable } = await import('./all-nodes.js');
          const path = GET_PATHS[what];
          const answers = await getAllNodes(path, { namespace: o.namespace, selector: o.selector, port: o.viewsPort, ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}) });
          io.out(o.output === 'json' ? JSON.stringify(answers, null, 2) + '\n' : allNodesTable(path, answers));
          const failed = answers.filter((a) => 'error' in a).length;
          if (failed > 0) io.err(`edgelb: ${failed} of ${answers.length} node(s) did not answer (error rows above)\n`);
          return failed > 0 ? EXIT.UNAVAILABLE : EXIT.OK;
        }
        const { body, text } = await GETS[what](o.api, o.token);
        io.out(o.output === 'json' ? JSON.stringify(body, null, 2) + '\n' : text);
        return EXIT.OK;
      }),
    );

  program
    .command('drain')
    .description("withdraw every VIP of this node through the API and keep them withdrawn (--undo ends it)")
    .option('--undo', 'end the drain: announce again', false)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(apiOption())
    .addOption(tokenOption())
    .action(
      wrap(async (o: { undo: boolean; output: string; api: string; token?: string }) => {
        const body = await apiRequest(o.api, o.undo ? '/v1/undrain' : '/v1/drain', { method: 'POST', ...(o.token ? { token: o.token } : {}) });
        if (o.output === 'json') io.out(JSON.stringify(body, null, 2) + '\n');
        else io.out(o.undo ? 'undrained: this node announces its VIPs again\n' : 'drained: every VIP of this node is withdrawn until `edgelb drain --undo`\n');
        return EXIT.OK;
      }),
    );

  program
    .command('cleanup')
    .description('remove every BPF pin, XDP/TC attachment, address and route edgelb left on this node')
    .option('--config <file>', 'read node.name, node.interface and dataplane.pinRoot from this file')
    .option('--node <name>', 'node name (pins live under /sys/fs/bpf/edgelb/<name>/)')
    .option('--interface <ifname>', 'uplink interface to detach from')
    .addOption(new Option('--log-level <level>', 'log level').default('info'))
    .action(
      wrap(async (o: { config?: string; node?: string; interface?: string; logLevel: string }) => {
        type CleanupFn = (opts: Record<string, unknown>) => Promise<unknown>;
        const cleanupNode = await importOptional<CleanupFn>('../dataplane/cleanup.js', 'cleanupNode', 'cleanup');
        const opts: Record<string, unknown> = { logger: createLogger({ level: o.logLevel as 'info' }) };
        if (o.config) {
          const { state } = await loadConfig(o.config);
          Object.assign(opts, { nodeName: state.node.name, iface: state.node.interface });
          if (state.dataplane.pinRoot) opts.pinRoot = state.dataplane.pinRoot;
        }
        if (o.node) opts.nodeName = o.node;
        if (o.interface) opts.iface = o.interface;
        if (!opts.nodeName) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'edgelb cleanup needs --node NAME or --config FILE');
        const result = await cleanupNode(opts);
        if (result !== undefined) io.out(JSON.stringify(result, null, 2) + '\n');
        return EXIT.OK;
      }),
    );

  program
    .command('forwarding')
    .description("turn IPv4 and IPv6 forwarding on for this node's uplink only (the chart's init container; with --kubernetes the Node's edgelb.io/interface annotation is honoured as the daemon honours it)")
    .requiredOption('--config <file>', 'read node.interface (and node.name) from this file')
    .option('--kubernetes', "read the Node named by NODE_NAME (or node.name) for its edgelb.io/interface annotation", false)
    .option('--proc-sys <dir>', 'the sysctl tree', '/proc/sys')
    .action(
      wrap(async (o: { config: string; kubernetes: boolean; procSys: string }) => {
        const { runForwardingInit } = await import('../daemon/forwarding.js');
        return runForwardingInit({ configPath: o.config, kubernetes: o.kubernetes, procSys: o.procSys, out: io.out, err: io.err });
      }),
    );

  program
    .command('migrate')
    .description('convert MetalLB or kube-loxilb objects into edgelb objects (YAML on stdout); what cannot be carried over goes to stderr (exit 3)')
    .addArgument(program.createArgument('<from>', 'metallb | kube-loxilb').choices(['metallb', 'kube-loxilb']))
    .argument('<files...>', 'YAML files: multi-document, kind: List (kubectl get … -o yaml)')
    .action(
      wrap(async (from: 'metallb' | 'kube-loxilb', files: string[]) => {
        const { migrateFiles, MIGRATE_EXIT } = await import('../migrate/index.js');
        const r = migrateFiles(from, files);
        io.out(r.stdout);
        if (r.stderr) io.err(r.stderr);
        return r.lost > 0 ? MIGRATE_EXIT.PARTIAL : MIGRATE_EXIT.OK;
      }),
    );

  const lab = program.command('lab').description('local showcase in network namespaces');
  lab
    .command('demo')
    .description('build a router + edge nodes + backends + client topology, show it working, tear it down')
    .option('--keep', 'leave the topology up after the demo', false)
    .action(
      wrap(async (o: { keep: boolean }) => {
        type DemoFn = (opts: { keep: boolean }) => Promise<unknown>;
        const runDemo = await importOptional<DemoFn>('../lab/demo.js', 'runDemo', 'lab demo');
        const r = await runDemo({ keep: o.keep });
        // runDemo prints its own progress; it resolves with { ok } (or an exit code)
        if (typeof r === 'number') return r;
        return (r as { ok?: boolean } | undefined)?.ok === false ? EXIT.ERROR : EXIT.OK;
      }),
    );
  lab
    .command('cleanup')
    .description('remove what a finished or crashed lab left (namespaces, processes, pins); live labs are spared')
    .action(
      wrap(async () => {
        const { cleanupStale } = await import('../lab/lib/ownership.js');
        const removed = cleanupStale();
        io.out(`removed ${removed.records.length} leftover lab run(s) and ${removed.netns.length} namespace(s)\n`);
        return EXIT.OK;
      }),
    );

  return program;
}

/** Parse argv and run; resolves with the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(e, io);
  }
  return code;
}
