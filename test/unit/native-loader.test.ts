// The native loader: injection of a fake binding, adaptation of raw addon exports (errors become
// NativeSyscallError with errno and its name), and the real addon's argument checks and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeError, EdgelbError } from '../../src/lib/errors.js';
import {
  adaptRawAddon,
  loadNative,
  setNativeBinding,
  NativeSyscallError,
  isErrno,
  type NativeBinding,
} from '../../src/native/index.js';

test('setNativeBinding injects a fake, and undefined restores the real addon', () => {
  const fake = { version: () => ({ napi: 0, libbpf: 'fake', modules: [] }) } as unknown as NativeBinding;
  setNativeBinding(fake);
  try {
    assert.equal(loadNative(), fake);
    assert.equal(loadNative().version().libbpf, 'fake');
  } finally {
    setNativeBinding(undefined);
  }
  assert.notEqual(loadNative(), fake);
  assert.equal(loadNative().version().napi, 8);
});

test('adaptRawAddon turns errno errors into NativeSyscallError and keeps TypeErrors', async () => {
  const errnoError = (msg: string, errno: number, code: string) =>
    Object.assign(new Error(msg), { errno, code, syscall: 'op' });
  class FakeSock {
    fd = 7;
    send(): number {
      throw errnoError('sendto: Network is down', 100, 'ENETDOWN');
    }
    start(): void {}
    stop(): void {}
    close(): void {}
    addMembership(): void {}
    dropMembership(): void {}
  }
  const raw = {
    fails: () => {
      throw errnoError('bpf_obj_get(/x): No such file or directory', 2, 'ENOENT');
    },
    badArg: () => {
      throw new TypeError('argument 0 (fd) must be a Number');
    },
    rejects: () => Promise.reject(errnoError('connect: Connection refused', 111, 'ECONNREFUSED')),
    ok: (a: number) => a + 1,
    PacketSocket: FakeSock,
  };
  const b = adaptRawAddon(raw) as unknown as Record<string, (...a: unknown[]) => unknown> & NativeBinding;
  assert.equal(b.ok!(1), 2);
  const cases: Array<{ desc: string; run: () => unknown; errno: number; sysCode: string }> = [
    { desc: 'sync function', run: () => b.fails!(), errno: 2, sysCode: 'ENOENT' },
    { desc: 'method of a handle', run: () => b.openPacketSocket('x', 3).send(Buffer.alloc(14)), errno: 100, sysCode: 'ENETDOWN' },
  ];
  for (const c of cases) {
    assert.throws(c.run, (e: unknown) => {
      assert.ok(e instanceof NativeSyscallError, c.desc);
      assert.ok(e instanceof NativeError && e instanceof EdgelbError, c.desc);
      assert.equal(e.code, 'EDGELB_ERR_NATIVE_CALL');
      assert.equal(e.errno, c.errno);
      assert.equal(e.sysCode, c.sysCode);
      assert.ok(isErrno(e, c.sysCode));
      return true;
    });
  }
  await assert.rejects(b.rejects!() as Promise<void>, (e: unknown) => e instanceof NativeSyscallError && e.errno === 111);
  assert.throws(() => b.badArg!(), TypeError);
  assert.equal(b.openPacketSocket('x', 3).fd, 7);
});

test('the real addon registers its modules and reports libbpf', () => {
  const v = loadNative().version();
  assert.equal(v.napi, 8);
  assert.match(v.libbpf, /^v\d+\.\d+/);
  for (const m of ['netif', 'bpf_obj', 'bpf_map', 'bpf_prog', 'packet', 'tcp', 'icmp']) assert.ok(v.modules.includes(m), m);
});

test('the real addon throws TypeError/RangeError on bad arguments', () => {
  const n = loadNative();
  const rows: Array<{ desc: string; run: () => unknown; want: typeof TypeError | typeof RangeError }> = [
    { desc: 'ifNameToIndex(number)', run: () => n.ifNameToIndex(3 as unknown as string), want: TypeError },
    { desc: 'ifNameToIndex(too long)', run: () => n.ifNameToIndex('x'.repeat(40)), want: TypeError },
    { desc: 'mapLookup(fd -1)', run: () => n.mapLookup(-1, Buffer.alloc(4)), want: RangeError },
    { desc: 'mapLookup(fd 1.5)', run: () => n.mapLookup(1.5, Buffer.alloc(4)), want: RangeError },
    { desc: 'progTestRun(no packet)', run: () => n.progTestRun(3, 'x' as unknown as Buffer), want: TypeError },
    { desc: 'tcpSocket(family 5)', run: () => n.tcpSocket({ family: 5 as 4 }), want: RangeError },
    { desc: 'tcpSocket(ttl 300)', run: () => n.tcpSocket({ family: 4, ttl: 300 }), want: RangeError },
    { desc: 'tcpSocket(md5 not array)', run: () => n.tcpSocket({ family: 4, md5: 'k' as unknown as [] }), want: TypeError },
    { desc: 'openIcmpSocket(5)', run: () => n.openIcmpSocket(5 as 4), want: RangeError },
    { desc: 'xdpAttach(mode bogus)', run: () => n.xdpAttach(1, 3, { mode: 'bogus' as 'native' }), want: TypeError },
  ];
  for (const r of rows) assert.throws(r.run, r.want, r.desc);
});

test('the real addon reports kernel errors with errno and its name', () => {
  const n = loadNative();
  const rows: Array<{ desc: string; run: () => unknown; sysCode: string }> = [
    { desc: 'unknown interface', run: () => n.ifNameToIndex('natnope0'), sysCode: 'ENODEV' },
    { desc: 'missing pin', run: () => n.objGet('/nonexistent-edgelb/pin'), sysCode: 'ENOENT' },
    { desc: 'missing object file', run: () => n.openBpfObject('/nonexistent-edgelb.bpf.o'), sysCode: 'ENOENT' },
    { desc: 'map op on a non-BPF fd', run: () => n.mapInfo(0), sysCode: 'EINVAL' },
    { desc: 'close a bad fd', run: () => n.closeFd(99999), sysCode: 'EBADF' },
  ];
  for (const r of rows) {
    assert.throws(r.run, (e: unknown) => e instanceof NativeSyscallError && e.sysCode === r.sysCode && e.errno! > 0, r.desc);
  }
});

test('interface helpers read loopback through ioctl and getifaddrs', () => {
  const n = loadNative();
  const idx = n.ifNameToIndex('lo');
  assert.ok(idx > 0);
  assert.equal(n.ifIndexToName(idx), 'lo');
  assert.deepEqual([...n.ifHwAddr('lo')], [0, 0, 0, 0, 0, 0]);
  assert.ok(n.ifMtu('lo') >= 1500);
  const lo4 = n.interfaceAddresses().find((a) => a.name === 'lo' && a.family === 4);
  assert.deepEqual(lo4 && { address: lo4.address, prefixLen: lo4.prefixLen, ifindex: lo4.ifindex }, {
    address: '127.0.0.1',
    prefixLen: 8,
    ifindex: idx,
  });
});
