// Test harness: a real etcd + kube-apiserver on loopback (random free ports, a temp dir, the
// apiserver's own self-signed serving cert, a static token file, RBAC), a kubeconfig for an admin
// and one for the edgelb ServiceAccount user, and guaranteed teardown (also on failure or exit).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:https';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export const EDGELB_NAMESPACE = 'edgelb-system';
export const EDGELB_SA = 'edgelb';

export interface TestCluster {
  server: string;
  dir: string;
  /** kubeconfig file paths */
  adminKubeconfig: string;
  edgelbKubeconfig: string;
  caData: string;
  adminToken: string;
  edgelbToken: string;
  etcdPid: number;
  apiserverPid(): number;
  /** Stop only the kube-apiserver (the API becomes unreachable; etcd keeps the data). */
  stopApiserver(): Promise<void>;
  /** Start it again on the same port and wait until it is ready. */
  startApiserver(): Promise<void>;
  stop(): Promise<void>;
}

/** Path of the cached kube-apiserver binary (built by scripts/kube-apiserver.sh if missing). */
export function kubeApiserverBinary(): string {
  const env = process.env.EDGELB_KUBE_APISERVER;
  if (env) return env;
  return execFileSync(join(ROOT, 'scripts/kube-apiserver.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (!process.env.EDGELB_KEEP_K8S) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

function startProcess(cmd: string, args: string[], logFile: string): ChildProcess {
  const out = createWriteStream(logFile);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

async function stopProcess(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

function httpsGet(url: string, token: string, ca: string | undefined, accept = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}`, accept }, agent: new Agent(ca ? { ca } : { rejectUnauthorized: false }), timeout: 2000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function kubeconfig(server: string, caData: string, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test`,
    `  cluster: { server: "${server}", certificate-authority-data: "${caData}" }`,
    'users:',
    `- name: ${user}`,
    `  user: { token: "${token}" }`,
    'contexts:',
    `- name: ${user}@test`,
    `  context: { cluster: test, user: ${user} }`,
    `current-context: ${user}@test`,
    '',
  ].join('\n');
}

/** Start etcd and kube-apiserver. Call stop() in after()/finally. */
export async function startTestCluster(): Promise<TestCluster> {
  installExitHook();
  const bin = kubeApiserverBinary();
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'k8s-apiserver-'));
  liveDirs.add(dir);
  const procs: ChildProcess[] = [];
  const stop = async () => {
    for (const p of [...procs].reverse()) await stopProcess(p);
    if (!process.env.EDGELB_KEEP_K8S) rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcd = startProcess(
      'etcd',
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--log-level=warn',
        '--logger=zap',
      ],
      join(dir, 'etcd.log'),
    );
    procs.push(etcd);

    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const adminToken = randomBytes(16).toString('hex');
    const edgelbToken = randomBytes(16).toString('hex');
    writeFileSync(
      join(dir, 'tokens.csv'),
      `${adminToken},admin,admin-uid,"system:masters"\n` +
        `${edgelbToken},system:serviceaccount:${EDGELB_NAMESPACE}:${EDGELB_SA},edgelb-sa-uid,"system:serviceaccounts,system:serviceaccounts:${EDGELB_NAMESPACE}"\n`,
      { mode: 0o600 },
    );
    mkdirSync(join(dir, 'certs'));
    const apiArgs = [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'certs')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.96.0.0/16,fd00:96::/108', // dual-stack Services
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--profiling=false',
        '--max-requests-inflight=1000',
        '--max-mutating-requests-inflight=500',
        '--event-ttl=1h',
        '--v=0',
    ];
    const server = `https://127.0.0.1:${apiPort}`;
    let api!: ChildProcess;
    let ca: string | undefined;
    const startApi = async () => {
      api = startProcess(bin, apiArgs, join(dir, 'apiserver.log'));
      procs.push(api);
      // wait for readiness (the serving cert is generated at the first start, then reused)
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (api.exitCode !== null) throw new Error(`kube-apiserver exited with ${api.exitCode}:\n${tail(join(dir, 'apiserver.log'))}`);
        if (etcd.exitCode !== null) throw new Error(`etcd exited with ${etcd.exitCode}:\n${tail(join(dir, 'etcd.log'))}`);
        const crt = join(dir, 'certs', 'apiserver.crt');
        if (!ca && existsSync(crt)) ca = readFileSync(crt, 'utf8');
        if (ca) {
          try {
            const r = await httpsGet(`${server}/readyz`, adminToken, ca);
            if (r.status === 200) break;
          } catch {
            /* not up yet */
          }
        }
        if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after 90 s:\n${tail(join(dir, 'apiserver.log'))}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await startApi();
    const caData = Buffer.from(ca!).toString('base64');
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    const edgelbKubeconfig = join(dir, 'edgelb.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfig(server, caData, 'admin', adminToken), { mode: 0o600 });
    writeFileSync(edgelbKubeconfig, kubeconfig(server, caData, 'edgelb', edgelbToken), { mode: 0o600 });
    return {
      server, dir, adminKubeconfig, edgelbKubeconfig, caData, adminToken, edgelbToken, etcdPid: etcd.pid!,
      apiserverPid: () => api.pid!,
      stopApiserver: async () => {
        await stopProcess(api);
        procs.splice(procs.indexOf(api), 1);
      },
      startApiserver: startApi,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function tail(file: string, n = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET a path as the admin, e.g. a server-side Table (what kubectl prints). */
export function apiGet(c: TestCluster, path: string, accept = 'application/json'): Promise<{ status: number; body: string }> {
  return httpsGet(`${c.server}${path}`, c.adminToken, Buffer.from(c.caData, 'base64').toString('utf8'), accept);
}
