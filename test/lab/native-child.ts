// Child process for the native lab tests: runs one scenario with the real addon inside the network
// namespace it was started in (nsenter --net=...), prints one JSON line with what it saw, exits.
//   node --import tsx test/lab/native-child.ts SCENARIO JSON-ARGS
import net from 'node:net';
import { loadNative, ETH_P_ARP, isErrno } from '../../src/native/index.js';

const n = loadNative();
const [scenario = '', argJson = '{}'] = process.argv.slice(2);
const args = JSON.parse(argJson) as Record<string, unknown>;
const str = (k: string): string => String(args[k]);
const num = (k: string): number => Number(args[k]);

function u64(b: Buffer | null): number {
  return b ? Number(b.readBigUInt64LE(0)) : -1;
}

function key(i: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(i);
  return k;
}

async function main(): Promise<unknown> {
  switch (scenario) {
    // load probe.bpf.o with pinned maps and attach it (generic) to `ifname`, then exit: the
    // attachment and the pins stay behind.
    case 'xdp-attach': {
      const obj = n.openBpfObject(str('object'), { pinDir: str('pinDir') });
      const ifindex = n.ifNameToIndex(str('ifname'));
      n.xdpAttach(ifindex, obj.progFd('probe_xdp'), { mode: 'generic', noReplace: true });
      const q = n.xdpQuery(ifindex);
      const maps = obj.maps().map((m) => ({ name: m.name, reused: m.reused, pinPath: m.pinPath }));
      obj.close();
      return { query: q, maps };
    }
    // read the counters through the pins (no object loaded)
    case 'xdp-read': {
      const fd = n.objGet(`${str('pinDir')}/probe_counters`);
      const pcfd = n.objGet(`${str('pinDir')}/probe_percpu`);
      const out = {
        packets: u64(n.mapLookup(fd, key(0))),
        bytes: u64(n.mapLookup(fd, key(1))),
        perCpu: (n.mapLookupPerCpu(pcfd, key(0)) ?? []).map((b) => u64(b)),
        query: n.xdpQuery(n.ifNameToIndex(str('ifname'))),
      };
      n.closeFd(fd);
      n.closeFd(pcfd);
      return out;
    }
    // a new "daemon": load the object again (maps reused from the pins), take over the attached
    // program atomically with XDP_FLAGS_REPLACE, and exit
    case 'xdp-takeover': {
      const ifindex = n.ifNameToIndex(str('ifname'));
      const before = n.xdpQuery(ifindex);
      const oldFd = n.progFdById(before.progId);
      const obj = n.openBpfObject(str('object'), { pinDir: str('pinDir') });
      const counters = obj.mapFd('probe_counters');
      const packetsAtLoad = u64(n.mapLookup(counters, key(0)));
      n.xdpAttach(ifindex, obj.progFd('probe_xdp'), { mode: 'generic', replaceFd: oldFd });
      // replacing a program that is no longer attached must fail (EEXIST): no blind overwrite
      let staleReplace = 'succeeded';
      try {
        n.xdpAttach(ifindex, obj.progFd('probe_xdp'), { mode: 'generic', replaceFd: oldFd });
      } catch (e) {
        staleReplace = isErrno(e, 'EEXIST') ? 'EEXIST' : String(e);
      }
      const after = n.xdpQuery(ifindex);
      n.closeFd(oldFd);
      const maps = obj.maps().map((m) => ({ name: m.name, reused: m.reused }));
      obj.close();
      return { before, after, packetsAtLoad, staleReplace, maps };
    }
    case 'xdp-detach': {
      const ifindex = n.ifNameToIndex(str('ifname'));
      const q = n.xdpQuery(ifindex);
      const fd = n.progFdById(q.progId);
      n.xdpDetach(ifindex, { mode: 'generic', expectedFd: fd });
      n.closeFd(fd);
      const counters = n.objGet(`${str('pinDir')}/probe_counters`);
      const packets = u64(n.mapLookup(counters, key(0)));
      n.closeFd(counters);
      return { query: n.xdpQuery(ifindex), packets };
    }
    // XDP through a bpf_link pinned in bpffs (and the program pinned too): survives this process
    case 'xdp-link': {
      const obj = n.openBpfObject(str('object'), { pinDir: str('pinDir') });
      const ifindex = n.ifNameToIndex(str('ifname'));
      const link = n.xdpLinkAttach(obj.progFd('probe_xdp'), ifindex, { mode: 'generic' });
      n.objPin(link, `${str('pinDir')}/link`);
      n.objPin(obj.progFd('probe_xdp'), `${str('pinDir')}/prog`);
      // a link holds the hook: a plain netlink attach on top is refused
      let netlinkAttach = 'succeeded';
      try {
        n.xdpAttach(ifindex, obj.progFd('probe_xdp'), { mode: 'generic' });
      } catch (e) {
        netlinkAttach = (e as { sysCode?: string }).sysCode ?? String(e);
      }
      const q = n.xdpQuery(ifindex);
      n.closeFd(link);
      obj.close();
      return { query: q, netlinkAttach };
    }
    // a later process: swap the program behind the pinned link, then drop the pins
    case 'xdp-link-update': {
      const ifindex = n.ifNameToIndex(str('ifname'));
      const before = n.xdpQuery(ifindex);
      const link = n.objGet(`${str('pinDir')}/link`);
      const oldProg = n.objGet(`${str('pinDir')}/prog`);
      const obj = n.openBpfObject(str('object'), { pinDir: str('pinDir') });
      n.linkUpdate(link, obj.progFd('probe_xdp'), { oldProgFd: oldProg });
      const after = n.xdpQuery(ifindex);
      let staleUpdate = 'succeeded';
      try {
        n.linkUpdate(link, obj.progFd('probe_xdp'), { oldProgFd: oldProg });
      } catch (e) {
        staleUpdate = (e as { sysCode?: string }).sysCode ?? String(e);
      }
      n.closeFd(oldProg);
      obj.close();
      if (args.release) {
        n.unpin(`${str('pinDir')}/link`);
        n.unpin(`${str('pinDir')}/prog`);
      }
      n.closeFd(link);
      return { before, after, staleUpdate, final: n.xdpQuery(ifindex) };
    }
    case 'xdp-query': {
      return { query: n.xdpQuery(n.ifNameToIndex(str('ifname'))) };
    }
    // receive frames of `protocol` on `ifname` until one carries `marker` (hex), then print it
    case 'packet-recv': {
      const sock = n.openPacketSocket(str('ifname'), num('protocol'));
      const marker = Buffer.from(str('marker'), 'hex');
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          sock.close();
          reject(new Error('no frame with the marker arrived'));
        }, num('timeoutMs'));
        sock.start((frame, meta) => {
          if (frame.indexOf(marker) < 0) return;
          clearTimeout(timer);
          sock.close();
          resolve({ frame: frame.toString('hex'), meta, tracked: n.trackedResources() });
        });
        process.stdout.write('ready\n');
      });
    }
    case 'packet-send': {
      const sock = n.openPacketSocket(str('ifname'), ETH_P_ARP);
      const frame = Buffer.from(str('frame'), 'hex');
      const sent = sock.send(frame);
      const mac = sock.mac.toString('hex');
      sock.close();
      return { sent, mac };
    }
    // solicited-node membership: joining makes the kernel accept the group MAC (ip maddr shows it)
    case 'packet-membership': {
      const sock = n.openPacketSocket(str('ifname'), 0x86dd);
      sock.addMembership(str('group'));
      process.stdout.write('joined\n');
      await new Promise((r) => setTimeout(r, num('holdMs')));
      sock.dropMembership(str('group'));
      sock.close();
      return { ok: true };
    }
    // TCP MD5 (RFC 2385) on loopback: the listener holds the key of the client's address
    case 'md5': {
      // listener: family `listenFamily` (6 = dual stack), key for `peer`; clients of `clientFamily`
      const listenFamily = (args.listenFamily ?? 4) as 4 | 6;
      const clientFamily = (args.clientFamily ?? 4) as 4 | 6;
      const peer = clientFamily === 4 ? '127.0.0.1' : '::1';
      const lfd = n.tcpSocket({
        family: listenFamily,
        reuseAddr: true,
        v6Only: false,
        bindAddress: listenFamily === 4 ? '127.0.0.1' : '::',
        bindPort: 0,
        md5: [{ address: peer, key: str('serverKey') }],
      });
      n.tcpListen(lfd, 8);
      const port = n.sockName(lfd).port;
      const server = net.createServer((s) => s.on('data', (d) => s.end(`echo:${d}`)));
      await new Promise<void>((r) => server.listen({ fd: lfd }, r));
      const results: Record<string, unknown> = {};
      try {
        for (const k of args.clientKeys as string[]) {
          const fd = n.tcpSocket({ family: clientFamily, ttl: 255, md5: k ? [{ address: peer, key: k }] : [] });
          n.tcpConnect(fd, peer, port);
          try {
            await n.tcpConnectWait(fd, num('timeoutMs'));
          } catch (e) {
            n.closeFd(fd);
            results[k || '(none)'] = { connected: false, error: (e as { sysCode?: string }).sysCode };
            continue;
          }
          const sock = new net.Socket({ fd });
          const reply = await new Promise<string>((resolve, reject) => {
            let buf = '';
            sock.on('data', (d) => (buf += d));
            sock.on('end', () => resolve(buf));
            sock.on('error', reject);
            sock.write('hello');
          });
          sock.destroy();
          results[k || '(none)'] = { connected: true, reply };
        }
      } finally {
        server.close();
      }
      return results;
    }
    // GTSM (RFC 5082): the listener requires TTL >= minTtl; clients send with the given TTLs
    case 'gtsm': {
      const family = num('family') as 4 | 6;
      const lo = family === 4 ? '127.0.0.1' : '::1';
      const lfd = n.tcpSocket({ family, reuseAddr: true, bindAddress: lo, bindPort: 0, minTtl: num('minTtl') });
      n.tcpListen(lfd, 8);
      const port = n.sockName(lfd).port;
      const results: Record<string, string> = {};
      for (const ttl of args.clientTtls as number[]) {
        const fd = n.tcpSocket({ family, ttl });
        n.tcpConnect(fd, lo, port);
        try {
          await n.tcpConnectWait(fd, num('timeoutMs'));
          const peer = n.peerName(fd);
          results[String(ttl)] = `connected to ${peer.address}:${peer.port === port ? 'port' : peer.port}`;
        } catch (e) {
          results[String(ttl)] = (e as { sysCode?: string }).sysCode ?? String(e);
        }
        n.closeFd(fd);
      }
      n.closeFd(lfd);
      return results;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
