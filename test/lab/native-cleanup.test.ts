// The addon's environment cleanup hook: a worker thread opens sockets, a BPF object and a pending
// connect, then exits without closing anything; every descriptor it held must be closed after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nativeAddonPath, packageRoot, loadNative } from '../../src/native/index.js';

function fdTarget(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

test('a worker that exits without closing leaves no socket or BPF fd behind', async () => {
  const object = join(packageRoot(), 'build/bpf/probe.bpf.o');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const b = require(workerData.addon);
    const held = {};
    const pkt = new b.PacketSocket('lo', 0x0003);
    pkt.start(() => {});
    held.packet = pkt.fd;
    const icmp = new b.IcmpSocket(4);
    icmp.start(() => {});
    held.icmp = icmp.fd;
    const obj = new b.BpfObject(workerData.object);
    held.prog = obj.progFd('probe_xdp');
    held.map = obj.mapFd('probe_counters');
    // a connect that never completes: the listener wants an MD5 key the client does not have
    const lfd = b.tcpSocket({ family: 4, bindAddress: '127.0.0.1', bindPort: 0, md5: [{ address: '127.0.0.1', key: 'k' }] });
    b.tcpListen(lfd);
    const cfd = b.tcpSocket({ family: 4 });
    b.tcpConnect(cfd, '127.0.0.1', b.sockName(lfd).port);
    b.tcpConnectWait(cfd, 60000).catch(() => {});
    const targets = {};
    for (const [k, fd] of Object.entries(held)) targets[k] = fs.readlinkSync('/proc/self/fd/' + fd);
    parentPort.postMessage({ held, targets, tracked: b.trackedResources() });
    // leave without closing anything
    setTimeout(() => process.exit(0), 50);
  `;
  const worker = new Worker(code, { eval: true, workerData: { addon: nativeAddonPath(), object } });
  const msg = await new Promise<{ held: Record<string, number>; targets: Record<string, string>; tracked: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const code2 = await new Promise<number>((resolve) => worker.once('exit', resolve));
  assert.equal(code2, 0);
  // packet socket, ICMP socket, BPF object and the pending connect were tracked
  assert.equal(msg.tracked, 4);
  assert.match(msg.targets.packet!, /^socket:/);
  assert.match(msg.targets.prog!, /^anon_inode:bpf-prog/);
  assert.match(msg.targets.map!, /^anon_inode:bpf-map/);
  for (const [k, fd] of Object.entries(msg.held)) {
    // closed (or reused by something else in this process, never the worker's object)
    assert.notEqual(fdTarget(fd), msg.targets[k], `${k} fd ${fd} still open`);
  }
  // the main thread's environment is separate and untouched
  assert.equal(loadNative().trackedResources(), 0);
});
