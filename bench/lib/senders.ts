// BGP senders for the benchmarks, each holding the same prefix list before any session starts and
// waiting passively for the receiver to connect: edgelb (compiled BgpSpeaker, bench/lib/speaker-child.mjs),
// BIRD (static protocol), GoBGP (global RIB loaded through its API with `gobgp mrt inject`), FRR
// (bgpd `network` statements). Also the prefix lists and the MRT file GoBGP loads.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRR_DAEMON_DIR, FRR_TMP_DIR, GobgpRouter, waitUntil, type Lab, type LabProcess } from '../../test/lab/lib/index.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const SPEAKER_CHILD = fileURLToPath(new URL('./speaker-child.mjs', import.meta.url));
/** The node flags the daemon runs with, read from src/cli/main.ts's shebang so the two never differ. */
export const DAEMON_NODE_FLAGS = shebangFlags(readFileSync(join(REPO, 'src/cli/main.ts'), 'utf8'));

/** The `--` flags of a `#!/usr/bin/env -S node …` first line; throws when there is none. */
export function shebangFlags(source: string): string[] {
  const first = source.split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node((?:\s+--[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) throw new Error(`src/cli/main.ts: no "#!/usr/bin/env -S node --flags" first line: ${JSON.stringify(first)}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}

export type Family = 4 | 6;

/** The i-th benchmark prefix: 10.64.0.0 + i /32, or 2001:db8:64::<i> /128. */
export function benchPrefix(family: Family, i: number): string {
  if (family === 4) {
    const v = (64 << 16) + i;
    return `10.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}/32`;
  }
  return `2001:db8:64::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`;
}

export function prefixes(family: Family, n: number): string[] {
  return Array.from({ length: n }, (_, i) => benchPrefix(family, i));
}

export interface Sender {
  name: string;
  /** the process whose memory is reported */
  pid: number;
  stop(): Promise<void>;
}

export interface SenderSpec {
  family: Family;
  asn: number;
  /** the sender's own address (router id for IPv4, session source) */
  address: string;
  routerId: string;
  /** the receiver's address and ASN */
  peer: string;
  peerAsn: number;
  prefixes: string[];
  /** the next hop announced (the sender's own address) */
}

/** edgelb: the compiled speaker, passive, all prefixes advertised before start. */
export async function startEdgelb(lab: Lab, node: string, s: SenderSpec, tag: string, fifo?: string): Promise<Sender & { proc: LabProcess }> {
  const prefixFile = lab.writeFile(`${tag}-prefixes.txt`, s.prefixes.join('\n') + '\n', 0o644);
  const peer = {
    address: s.peer,
    asn: s.peerAsn,
    port: 179,
    holdTime: 90,
    passive: true,
    connectRetry: 1,
    idleHold: 1,
    gracefulRestart: false,
    restartTime: 30,
    families: [s.family === 4 ? 'ipv4' : 'ipv6'],
    exportPolicies: [],
    maxPrefixes: 0,
    localAddress: s.address,
  };
  const cfg = lab.writeFile(`${tag}.json`, JSON.stringify({ asn: s.asn, routerId: s.routerId, listenPort: 179, peers: [peer], prefixFile, ...(fifo ? { fifo } : {}) }));
  const proc = await lab.spawn(node, [process.execPath, ...DAEMON_NODE_FLAGS, SPEAKER_CHILD, cfg], { name: tag, cwd: REPO });
  await waitUntil(() => proc.output().includes('READY') || !proc.running, (x) => x, { timeoutMs: 120_000, what: `${tag} ready` });
  if (!proc.running) throw new Error(`${tag} exited:\n${proc.output().slice(-2000)}`);
  return { name: 'edgelb', pid: proc.pid, proc, stop: () => proc.stop() };
}

/** BIRD: a static protocol holding the prefixes (blackhole), exported to a passive BGP session. */
export async function startBird(lab: Lab, node: string, s: SenderSpec, tag: string): Promise<Sender> {
  const f = `ipv${s.family}`;
  const statics = s.prefixes.map((p) => `  route ${p} blackhole;`).join('\n');
  const conf = lab.writeFile(
    `${tag}.conf`,
    [
      `router id ${s.routerId};`,
      'protocol device {}',
      `protocol static s1 {\n  ${f};\n${statics}\n}`,
      `protocol bgp up {\n  local ${s.address} as ${s.asn};\n  neighbor ${s.peer} as ${s.peerAsn};\n  passive on;\n  hold time 90;\n  graceful restart off;\n  ${f} { import none; export where proto = "s1"; next hop self; };\n}`,
    ].join('\n') + '\n',
    0o644,
  );
  const sock = lab.path(`${tag}.ctl`);
  const proc = await lab.spawn(node, ['bird', '-f', '-c', conf, '-s', sock, '-P', lab.path(`${tag}.pid`)], { name: tag });
  // loaded: the static protocol has imported every route
  await waitUntil(
    async () => {
      if (!proc.running) throw new Error(`${tag} exited:\n${proc.output().slice(-2000)}`);
      const r = await lab.exec(node, ['birdc', '-s', sock, 'show', 'protocols', 'all', 's1'], { check: false });
      return Number(/Routes:\s+(\d+) imported/.exec(r.stdout)?.[1] ?? -1) >= s.prefixes.length;
    },
    (x) => x,
    { timeoutMs: 300_000, intervalMs: 200, what: `${tag} static routes loaded` },
  );
  return { name: 'bird', pid: proc.pid, stop: () => proc.stop() };
}

/** An MRT TABLE_DUMP_V2 file (RFC 6396) of the prefixes, one entry each, the whole list twice (see startGobgp). */
export function mrtFile(path: string, family: Family, list: string[], nextHop: string, peerAsn: number, peerId: string): void {
  const parts: Buffer[] = [];
  const rec = (subtype: number, body: Buffer) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(13, 4); // TABLE_DUMP_V2
    h.writeUInt16BE(subtype, 6);
    h.writeUInt32BE(body.length, 8);
    parts.push(h, body);
  };
  const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));
  const ip6 = (s: string) => {
    const [head, tail] = s.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
    return b;
  };
  const asn = Buffer.alloc(4);
  asn.writeUInt32BE(peerAsn);
  // PEER_INDEX_TABLE: collector id, empty view name, one peer (type: AS4, +IPv6 when family 6)
  const peerIp = family === 4 ? ip4(nextHop) : ip6(nextHop);
  // (the peer's BGP ID is the sender's own: gobgpd never sends a path back to the router id it came from)
  rec(1, Buffer.concat([ip4(peerId), Buffer.from([0, 0, 0, 1, family === 4 ? 0x02 : 0x03]), ip4(peerId), peerIp, asn]));
  // ORIGIN IGP, empty AS_PATH, then NEXT_HOP (IPv4) or MP_REACH_NLRI (IPv6). gobgp 3.x decodes the
  // latter in the full wire form (AFI, SAFI, next hop, reserved, NLRI), not RFC 6396 4.3.4's
  // abbreviated one, so the full form is written.
  const base = Buffer.concat([Buffer.from([0x40, 1, 1, 0]), Buffer.from([0x40, 2, 0])]);
  const v4attrs = Buffer.concat([base, Buffer.from([0x40, 3, 4]), ip4(nextHop)]);
  [...list, ...list].forEach((p, i) => {
    const [addr, len] = p.split('/') as [string, string];
    const plen = Number(len);
    const a = (family === 4 ? ip4(addr) : ip6(addr)).subarray(0, Math.ceil(plen / 8));
    let attrs = v4attrs;
    if (family === 6) {
      const mp = Buffer.concat([Buffer.from([0, 2, 1, 16]), ip6(nextHop), Buffer.from([0, plen]), a]);
      attrs = Buffer.concat([base, Buffer.from([0x80, 14, mp.length]), mp]);
    }
    const head = Buffer.alloc(5);
    head.writeUInt32BE(i, 0);
    head.writeUInt8(plen, 4);
    const entry = Buffer.alloc(10);
    entry.writeUInt16BE(1, 0); // entry count
    entry.writeUInt16BE(0, 2); // peer index
    entry.writeUInt32BE(0, 4); // originated time
    entry.writeUInt16BE(attrs.length, 8);
    rec(family === 4 ? 2 : 4, Buffer.concat([head, a, entry, attrs])); // RIB_IPV4_UNICAST / RIB_IPV6_UNICAST
  });
  writeFileSync(path, Buffer.concat(parts));
}

/** GoBGP: gobgpd with a passive neighbour; the global RIB loaded through the API before any session. */
export async function startGobgp(lab: Lab, node: string, s: SenderSpec, tag: string): Promise<Sender> {
  const g = await GobgpRouter.start(lab, node, {
    asn: s.asn,
    routerId: s.routerId,
    neighbors: [{ address: s.peer, asn: s.peerAsn, passive: true, holdTime: 90, gracefulRestart: false, localAddress: s.address, families: [s.family] }],
  });
  const file = lab.path(`${tag}.mrt`);
  mrtFile(file, s.family, s.prefixes, s.address, s.asn, s.routerId);
  const fam = s.family === 4 ? 'ipv4' : 'ipv6';
  const count = async () => {
    const out = await g.gobgp(['global', 'rib', 'summary', '-a', fam]);
    return Number(/Destination:\s*(\d+)/i.exec(out)?.[1] ?? -1);
  };
  // `gobgp mrt inject` exits without closing its gRPC stream, so the last paths it queued are lost
  // (a tail of hundreds). The file holds the list twice, so that lost tail is duplicates; what is
  // still missing is injected again from where the RIB stops. Duplicates replace identical paths.
  const n = s.prefixes.length;
  for (let attempt = 0, have = 0; have < n; attempt++) {
    if (attempt === 8) throw new Error(`${tag}: GoBGP global RIB holds ${have} of ${n} after 8 injections`);
    await g.gobgp(['mrt', 'inject', 'global', file, String(2 * n - have), String(have)]);
    have = await waitUntil(count, (c) => c >= 0, { timeoutMs: 10_000, what: `${tag} rib summary` });
    // injection is asynchronous in gobgpd: wait until the count stops growing
    for (let last = -1; have !== last; ) {
      last = have;
      await new Promise((r) => setTimeout(r, 300));
      have = await count();
    }
  }
  return { name: 'gobgp', pid: g.processes[0]!.pid, stop: () => g.stop() };
}

/** FRR: zebra + bgpd with one `network` statement per prefix and a passive neighbour. */
export async function startFrr(lab: Lab, node: string, s: SenderSpec, tag: string): Promise<Sender> {
  const dir = lab.path(tag);
  mkdirSync(dir, { recursive: true });
  const f = s.family === 4 ? 'ipv4' : 'ipv6';
  const bgpd = join(dir, 'bgpd.conf');
  const zebra = join(dir, 'zebra.conf');
  writeFileSync(zebra, 'hostname bench-frr\n!\n', { mode: 0o600 });
  writeFileSync(
    bgpd,
    [
      'frr defaults traditional',
      'hostname bench-frr',
      `router bgp ${s.asn}`,
      ` bgp router-id ${s.routerId}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp default ipv4-unicast',
      ' no bgp network import-check',
      ` neighbor ${s.peer} remote-as ${s.peerAsn}`,
      ` neighbor ${s.peer} passive`,
      ` neighbor ${s.peer} update-source ${s.address}`,
      ` neighbor ${s.peer} timers 30 90`,
      ` address-family ${f} unicast`,
      ...s.prefixes.map((p) => `  network ${p}`),
      `  neighbor ${s.peer} activate`,
      ' exit-address-family',
      'exit',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const common = ['--vty_socket', dir, '-z', join(dir, 'zserv.api'), '-u', 'root', '-g', 'frrvty', '-P', '0'];
  const procs: LabProcess[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p.stop();
  };
  const z = await lab.spawn(node, [join(FRR_DAEMON_DIR, 'zebra'), '-f', zebra, '-i', join(dir, 'zebra.pid'), ...common], { name: `${tag}-zebra` });
  procs.push(z);
  lab.ownPath(join(FRR_TMP_DIR, `zebra.${z.pid}`));
  const vtysh = (cmd: string, d: string) => lab.exec(node, ['vtysh', '--vty_socket', dir, '-d', d, '-c', cmd], { check: false });
  await waitUntil(async () => (await vtysh('show version', 'zebra')).code === 0, (x) => x, { timeoutMs: 15_000, intervalMs: 100, what: `${tag} zebra` });
  const b = await lab.spawn(node, [join(FRR_DAEMON_DIR, 'bgpd'), '-f', bgpd, '-i', join(dir, 'bgpd.pid'), '-p', '179', ...common], { name: `${tag}-bgpd` });
  procs.push(b);
  lab.ownPath(join(FRR_TMP_DIR, `bgpd.${b.pid}`));
  await waitUntil(
    async () => {
      if (!b.running) throw new Error(`${tag} bgpd exited:\n${b.output().slice(-2000)}`);
      const r = await vtysh(`show bgp ${f} unicast summary json`, 'bgpd');
      try {
        return Number((JSON.parse(r.stdout) as { ribCount?: number }).ribCount ?? -1) >= s.prefixes.length;
      } catch {
        return false;
      }
    },
    (x) => x,
    { timeoutMs: 300_000, intervalMs: 250, what: `${tag} FRR networks loaded` },
  );
  return { name: 'frr', pid: b.pid, stop };
}
