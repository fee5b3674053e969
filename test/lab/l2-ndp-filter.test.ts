// Regression (issue 11, item 12): every IPv6 frame on the uplink was copied into JavaScript (the
// announcer's AF_PACKET socket had no socket filter), so an IPv6 flood stalled the event loop.
// Two namespaces on a veth: a runs the real L2 announcer (openNativePacketIo) owning an IPv6 and an
// IPv4 VIP; b floods a with IPv6 UDP and NS/ARP look-alikes, then solicits the VIP for real. None
// of the flood may reach JavaScript, while an unfiltered control socket sees all of it (what the
// old code delivered) and b still resolves the VIP to a's MAC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, waitUntil } from './lib/index.js';
import { packageRoot } from '../../src/native/index.js';

const root = packageRoot();
const child = join(root, 'test/lab/l2-filter-child.ts');
const A_MAC = '02:00:00:78:00:01';
const VIP6 = 'fd78::100';
const VIP4 = '10.78.0.100';
const FLOOD = 20_000;
let lab: Lab;

before(async () => {
  lab = await Lab.create({
    prefix: 'nfl',
    nodes: [{ name: 'a' }, { name: 'b' }],
    links: [
      {
        a: { node: 'a', ifname: 'eth0', addrs: ['10.78.0.1/24', 'fd78::1/64'], mac: A_MAC },
        b: { node: 'b', ifname: 'eth0', addrs: ['10.78.0.2/24', 'fd78::2/64'], mac: '02:00:00:78:00:02' },
      },
    ],
  });
});

after(async () => {
  await lab?.teardown();
});

test('an IPv6 flood never reaches JavaScript; neighbour solicitations for our VIP still do and are answered', async () => {
  const holdMs = 15_000;
  const ann = await lab.spawn('a', ['node', '--import', 'tsx', child, 'announce', JSON.stringify({ ifname: 'eth0', vip6: VIP6, vip4: VIP4, holdMs })], { cwd: root });
  await waitUntil(() => ann.output().includes('ready'), (v) => v, { timeoutMs: 20_000, what: 'announcer ready' });

  const fl = await lab.exec(
    'b',
    ['node', '--import', 'tsx', child, 'flood', JSON.stringify({ ifname: 'eth0', dstMac: A_MAC, src6: 'fd78::2', dst6: 'fd78::1', src4: '10.78.0.2', vip6: VIP6, vip4: VIP4, count: FLOOD })],
    { check: false, timeoutMs: 60_000, cwd: root },
  );
  assert.equal(fl.code, 0, fl.stderr);
  const sent = (JSON.parse(fl.stdout.trim().split('\n').pop()!) as { sent: Record<string, number> }).sent;
  assert.equal(sent['ipv6-udp'], FLOOD);

  // b's kernel solicits the VIP itself; the announcer's advertisement fills b's neighbour table
  await lab.exec('b', ['ping', '-6', '-c', '1', '-W', '1', VIP6], { check: false });
  const neigh = await waitUntil(
    async () => (await lab.exec('b', ['ip', '-6', 'neigh', 'show', VIP6, 'dev', 'eth0'])).stdout,
    (s) => s.includes(A_MAC),
    { timeoutMs: 10_000, what: `b resolves ${VIP6}` },
  );
  assert.match(neigh, new RegExp(A_MAC));

  const exit = await ann.exited;
  assert.equal(exit.code, 0, ann.output());
  const r = JSON.parse(ann.output().trim().split('\n').pop()!) as {
    counts: Record<string, number>;
    delivered: { arp: number; ip6: number };
    unfiltered: number;
    replies: Array<{ proto: string; value: number }>;
  };
  // the control (an unfiltered socket, as before the fix) got the flood: at least half of it even
  // on a loaded machine (its receive buffer may overflow), where the filtered socket got none
  assert.ok(r.unfiltered >= FLOOD / 2, `unfiltered socket saw ${r.unfiltered}`);
  // through the filter: nothing but solicitations for the VIP and ARP requests
  assert.equal(r.counts['ipv6-other'], 0, JSON.stringify(r));
  assert.equal(r.counts['ns-other'], 0, JSON.stringify(r));
  assert.equal(r.counts['arp-other'], 0, JSON.stringify(r));
  assert.ok(r.counts['ns-vip']! >= 6, `5 sent + b's own solicitation: ${JSON.stringify(r)}`);
  assert.ok(r.counts['arp-request']! >= 5, JSON.stringify(r));
  assert.equal(r.delivered.ip6, r.counts['ns-vip'], 'the native counter agrees with what JavaScript saw');
  assert.equal(r.delivered.arp, r.counts['arp-request']);
  const ndpReplies = r.replies.find((x) => x.proto === 'ndp')?.value ?? 0;
  assert.equal(ndpReplies, r.counts['ns-vip'], 'every solicitation that got through was answered');
});
