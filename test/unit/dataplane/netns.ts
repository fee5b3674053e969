// A private network namespace for BPF_PROG_TEST_RUN packet tests: a veth pair (xdpt0/xdpt1) with
// fixed MACs, addresses, permanent neighbours and default routes, so bpf_fib_lookup answers
// deterministically. The main thread enters it with xdpSetNetns (test_run and fib lookups then
// use it); teardown leaves it and deletes the namespace.
import { execFileSync } from 'node:child_process';

export const NODE_MAC = '02:00:00:00:00:10';
export const ROUTER_MAC = '02:00:00:00:00:01';
export const BACKEND_MAC: Record<string, string> = {
  '10.0.0.2': '02:00:00:00:00:02',
  '10.0.0.3': '02:00:00:00:00:03',
  '2001:db8::2': '02:00:00:00:00:02',
  '2001:db8::3': '02:00:00:00:00:03',
};

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestNetns(name: string): { ifname: string; path: string } {
  const ns = (...a: string[]) => sh(['ip', '-n', name, ...a]);
  sh(['ip', 'netns', 'add', name]);
  ns('link', 'add', 'xdpt0', 'type', 'veth', 'peer', 'name', 'xdpt1');
  ns('link', 'set', 'xdpt0', 'address', NODE_MAC);
  // the peers stay silent (no IPv6 router solicitations or MLD reports reaching xdpt0's XDP
  // program and its counters while a table runs)
  for (const peer of ['xdpt1']) {
    sh(['nsenter', `--net=/run/netns/${name}`, 'sysctl', '-qw', `net.ipv6.conf.${peer}.disable_ipv6=1`]);
  }
  for (const l of ['lo', 'xdpt0', 'xdpt1']) ns('link', 'set', l, 'up');
  ns('addr', 'add', '10.0.0.10/24', 'dev', 'xdpt0');
  ns('-6', 'addr', 'add', '2001:db8::10/64', 'dev', 'xdpt0', 'nodad');
  ns('route', 'add', 'default', 'via', '10.0.0.1');
  ns('-6', 'route', 'add', 'default', 'via', '2001:db8::1');
  // a second segment behind another interface: "off the uplink's segment"
  ns('link', 'add', 'xdpt2', 'type', 'veth', 'peer', 'name', 'xdpt3');
  sh(['nsenter', `--net=/run/netns/${name}`, 'sysctl', '-qw', 'net.ipv6.conf.xdpt3.disable_ipv6=1']);
  ns('link', 'set', 'xdpt2', 'up');
  ns('link', 'set', 'xdpt3', 'up');
  ns('addr', 'add', '10.50.0.10/24', 'dev', 'xdpt2');
  ns('neigh', 'add', '10.0.0.1', 'lladdr', ROUTER_MAC, 'dev', 'xdpt0', 'nud', 'permanent');
  ns('neigh', 'add', '2001:db8::1', 'lladdr', ROUTER_MAC, 'dev', 'xdpt0', 'nud', 'permanent');
  for (const [ip, mac] of Object.entries(BACKEND_MAC)) ns('neigh', 'add', ip, 'lladdr', mac, 'dev', 'xdpt0', 'nud', 'permanent');
  sh(['nsenter', `--net=/run/netns/${name}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  return { ifname: 'xdpt0', path: `/run/netns/${name}` };
}

export function deleteTestNetns(name: string): void {
  try {
    sh(['ip', 'netns', 'del', name]);
  } catch {
    // already gone
  }
}

/** struct xdp_md for BPF_PROG_TEST_RUN: data 0, data_end len, ingress_ifindex. */
export function xdpCtx(len: number, ifindex: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(ifindex, 12);
  return b;
}
