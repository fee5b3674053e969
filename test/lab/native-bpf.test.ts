// The addon's BPF object API against the kernel: load build/bpf/probe.bpf.o, read and write its
// maps, run it through BPF_PROG_TEST_RUN and watch the counters, pin/reuse maps across loads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative, packageRoot, isErrno, XDP_PASS, XDP_DROP, XDP_TX, BPF_NOEXIST } from '../../src/native/index.js';

const root = packageRoot();
const object = join(root, 'build/bpf/probe.bpf.o');
const pinDir = `/sys/fs/bpf/nat-${process.pid}`;
const n = loadNative();

function key(i: number): Buffer {
  const k = Buffer.alloc(4);
  k.writeUInt32LE(i);
  return k;
}
function u64(v: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
/** A 64-byte Ethernet/IPv4/UDP frame; content does not matter to the probe. */
function frame(len = 64): Buffer {
  const f = Buffer.alloc(len);
  f.fill(0xff, 0, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  return f;
}

before(() => {
  execFileSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf']);
  execFileSync('make', ['-s', 'build/bpf/probe.bpf.o'], { cwd: root });
});

after(() => {
  rmSync(pinDir, { recursive: true, force: true });
});

test('load probe.bpf.o: programs and maps are listed with their shapes', () => {
  const obj = n.openBpfObject(object);
  try {
    assert.deepEqual(
      obj.programs().map((p) => ({ name: p.name, section: p.section, type: p.type })),
      [{ name: 'probe_xdp', section: 'xdp', type: 'xdp' }],
    );
    const maps = Object.fromEntries(obj.maps().map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries]]));
    assert.deepEqual(maps, {
      probe_counters: ['array', 4, 8, 2],
      probe_verdict: ['array', 4, 4, 1],
      probe_percpu: ['percpu_array', 4, 8, 1],
    });
    assert.ok(obj.progFd('probe_xdp') > 2);
    assert.throws(() => obj.progFd('nope'), (e: unknown) => isErrno(e, 'ENOENT'));
    assert.throws(() => obj.mapFd('nope'), (e: unknown) => isErrno(e, 'ENOENT'));
    assert.equal(n.progInfo(obj.progFd('probe_xdp')).type, 'xdp');
    assert.equal(n.progInfo(obj.progFd('probe_xdp')).mapIds.length, 3);
  } finally {
    obj.close();
  }
  assert.equal(obj.closed, true);
  assert.throws(() => obj.maps(), (e: unknown) => isErrno(e, 'EBADF'));
});

test('progTestRun runs the program: counters move, the verdict map decides, the packet comes back', async () => {
  const obj = n.openBpfObject(object);
  try {
    const prog = obj.progFd('probe_xdp');
    const counters = obj.mapFd('probe_counters');
    const verdict = obj.mapFd('probe_verdict');
    assert.equal(n.mapLookup(counters, key(0))!.readBigUInt64LE(), 0n);

    const pkt = frame(64);
    const r = n.progTestRun(prog, pkt, 10);
    assert.equal(r.retval, XDP_PASS);
    assert.deepEqual(r.data, pkt);
    assert.ok(r.durationNs >= 0);
    assert.equal(n.mapLookup(counters, key(0))!.readBigUInt64LE(), 10n);
    assert.equal(n.mapLookup(counters, key(1))!.readBigUInt64LE(), 640n);

    // the per-CPU counter: one value per possible CPU, summing to the runs
    const per = n.mapLookupPerCpu(obj.mapFd('probe_percpu'), key(0))!;
    assert.equal(per.length, n.possibleCpus());
    assert.equal(per.reduce((s, b) => s + b.readBigUInt64LE(), 0n), 10n);

    // table: verdict map value -> program return code
    const rows = [
      { verdict: XDP_DROP, want: XDP_DROP },
      { verdict: XDP_TX, want: XDP_TX },
      { verdict: 0, want: XDP_PASS },
    ];
    for (const row of rows) {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(row.verdict);
      n.mapUpdate(verdict, key(0), v);
      assert.equal(n.progTestRun(prog, pkt).retval, row.want, `verdict ${row.verdict}`);
    }
    const async = await n.progTestRunAsync(prog, frame(100), 5);
    assert.equal(async.retval, XDP_PASS);
    assert.equal(n.mapLookup(counters, key(0))!.readBigUInt64LE(), 10n + 3n + 5n);

    // writes are read back, dump and key iteration see both entries
    n.mapUpdate(counters, key(0), u64(42));
    assert.equal(n.mapLookup(counters, key(0))!.readBigUInt64LE(), 42n);
    assert.deepEqual(
      n.mapDump(counters).map((e) => [e.key.readUInt32LE(), e.value.readBigUInt64LE()]),
      [
        [0, 42n],
        [1, 640n + 3n * 64n + 500n],
      ],
    );
    assert.deepEqual(n.mapGetNextKey(counters, null), key(0));
    assert.deepEqual(n.mapGetNextKey(counters, key(0)), key(1));
    assert.equal(n.mapGetNextKey(counters, key(1)), null);
    // arrays: out-of-range keys are absent, deletes are refused, NOEXIST fails on existing slots
    assert.equal(n.mapLookup(counters, key(7)), null);
    assert.throws(() => n.mapDelete(counters, key(0)), (e: unknown) => isErrno(e, 'EINVAL'));
    assert.throws(() => n.mapUpdate(counters, key(0), u64(1), BPF_NOEXIST), (e: unknown) => isErrno(e, 'EEXIST'));
    // size checks before the kernel sees a short buffer
    assert.throws(() => n.mapLookup(counters, Buffer.alloc(2)), RangeError);
    assert.throws(() => n.mapUpdate(counters, key(0), Buffer.alloc(4)), RangeError);
    assert.deepEqual(n.mapInfo(counters), {
      id: n.mapInfo(counters).id,
      name: 'probe_counters',
      type: 'array',
      keySize: 4,
      valueSize: 8,
      maxEntries: 2,
      flags: 0,
      perCpu: false,
    });
  } finally {
    obj.close();
  }
});

test('a per-CPU update with one value sets every CPU', () => {
  const obj = n.openBpfObject(object);
  try {
    const fd = obj.mapFd('probe_percpu');
    n.mapUpdate(fd, key(0), u64(7));
    const per = n.mapLookupPerCpu(fd, key(0))!;
    assert.ok(per.every((b) => b.readBigUInt64LE() === 7n));
    assert.throws(() => n.mapLookupPerCpu(obj.mapFd('probe_counters'), key(0)), (e: unknown) => isErrno(e, 'EINVAL'));
  } finally {
    obj.close();
  }
});

test('pinned maps are reused by the next load, so their contents survive', () => {
  const dir = `${pinDir}/reuse`;
  const first = n.openBpfObject(object, { pinDir: dir });
  let firstIds: number[];
  try {
    assert.ok(first.maps().every((m) => m.reused === false && m.pinPath === `${dir}/${m.name}`));
    assert.ok(existsSync(`${dir}/probe_counters`));
    n.progTestRun(first.progFd('probe_xdp'), frame(), 3);
    firstIds = first.maps().map((m) => n.mapInfo(m.fd).id);
  } finally {
    first.close();
  }
  // the pin alone keeps the map: read it without any object
  const pinned = n.objGet(`${dir}/probe_counters`);
  assert.equal(n.mapLookup(pinned, key(0))!.readBigUInt64LE(), 3n);
  n.closeFd(pinned);

  const second = n.openBpfObject(object, { pinDir: dir });
  try {
    assert.ok(second.maps().every((m) => m.reused === true));
    assert.deepEqual(second.maps().map((m) => n.mapInfo(m.fd).id), firstIds);
    n.progTestRun(second.progFd('probe_xdp'), frame(), 2);
    assert.equal(n.mapLookup(second.mapFd('probe_counters'), key(0))!.readBigUInt64LE(), 5n);
  } finally {
    second.close();
  }
  for (const m of ['probe_counters', 'probe_verdict', 'probe_percpu']) assert.equal(n.unpin(`${dir}/${m}`), true);
  assert.equal(n.unpin(`${dir}/probe_counters`), false);
});

test('an incompatible pin is refused, or replaced when asked', () => {
  const dir = `${pinDir}/incompat`;
  // pin a map of another shape (probe_verdict: 4-byte values) under the name probe_counters
  const other = n.openBpfObject(object);
  n.objPin(other.mapFd('probe_verdict'), `${dir}/probe_counters`);
  other.close();
  assert.throws(
    () => n.openBpfObject(object, { pinDir: dir }),
    (e: unknown) => isErrno(e, 'EEXIST') && /value size is 4 in the pin, 8 in the object/.test((e as Error).message),
  );
  const obj = n.openBpfObject(object, { pinDir: dir, replaceIncompatible: true });
  try {
    const c = obj.maps().find((m) => m.name === 'probe_counters')!;
    assert.equal(c.replaced, true);
    const fd = n.objGet(`${dir}/probe_counters`);
    assert.equal(n.mapInfo(fd).valueSize, 8);
    n.closeFd(fd);
  } finally {
    obj.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a load error carries errno and the verifier/libbpf log', () => {
  const bad = join(root, 'package.json'); // not an ELF file
  assert.throws(
    () => n.openBpfObject(bad),
    (e: unknown) => (e as { code?: string }).code === 'EDGELB_ERR_NATIVE_CALL' && (e as { errno?: number }).errno! > 0,
  );
});

test('close() releases what the addon tracks', () => {
  const base = n.trackedResources();
  const objs = [n.openBpfObject(object), n.openBpfObject(object)];
  assert.equal(n.trackedResources(), base + 2);
  for (const o of objs) o.close();
  assert.equal(n.trackedResources(), base);
});

test('openMap: a handle with its own fd and cached shape, from an fd or a pin', () => {
  const dir = `${pinDir}/handle`;
  const obj = n.openBpfObject(object, { pinDir: dir });
  const byFd = n.openMap(obj.mapFd('probe_counters'));
  const byPin = n.openMap(`${dir}/probe_counters`);
  const perCpu = n.openMap(obj.mapFd('probe_percpu'));
  try {
    assert.notEqual(byFd.fd, obj.mapFd('probe_counters')); // a duplicate
    assert.deepEqual(byFd.info, n.mapInfo(obj.mapFd('probe_counters')));
    assert.equal(byPin.info.id, byFd.info.id);
    n.progTestRun(obj.progFd('probe_xdp'), frame(), 4);
    assert.equal(byFd.lookup(key(0))!.readBigUInt64LE(), 4n);
    byPin.update(key(0), u64(100));
    assert.equal(byFd.lookup(key(0))!.readBigUInt64LE(), 100n);
    assert.deepEqual(byFd.nextKey(null), key(0));
    assert.equal(byFd.nextKey(key(1)), null);
    assert.equal(byFd.dump().length, 2);
    assert.equal(perCpu.lookupPerCpu(key(0))!.reduce((s, b) => s + b.readBigUInt64LE(), 0n), 4n);
    assert.throws(() => byFd.lookup(Buffer.alloc(8)), RangeError);
    assert.throws(() => byFd.delete(key(0)), (e: unknown) => isErrno(e, 'EINVAL'));
    // the object's fds close; the handles keep working on their own
    obj.close();
    assert.equal(byFd.lookup(key(0))!.readBigUInt64LE(), 100n);
  } finally {
    byFd.close();
    byPin.close();
    perCpu.close();
    obj.close();
  }
  assert.throws(() => byFd.lookup(key(0)), (e: unknown) => isErrno(e, 'EBADF'));
  assert.throws(() => n.openMap(`${dir}/nope`), (e: unknown) => isErrno(e, 'ENOENT'));
  assert.throws(() => n.openMap(0), (e: unknown) => isErrno(e, 'EINVAL')); // stdin is not a map
  rmSync(dir, { recursive: true, force: true });
});

test('maxEntries resizes a map at load; a pin of the old size is then incompatible', () => {
  const dir = `${pinDir}/resize`;
  const small = n.openBpfObject(object, { pinDir: dir });
  small.close();
  assert.throws(
    () => n.openBpfObject(object, { pinDir: dir, maxEntries: { probe_counters: 16 } }),
    (e: unknown) => isErrno(e, 'EEXIST') && /max entries is 2 in the pin, 16 in the object/.test((e as Error).message),
  );
  const big = n.openBpfObject(object, { pinDir: dir, maxEntries: { probe_counters: 16 }, replaceIncompatible: true });
  try {
    assert.equal(n.mapInfo(big.mapFd('probe_counters')).maxEntries, 16);
    assert.equal(big.maps().find((m) => m.name === 'probe_counters')!.replaced, true);
    assert.equal(big.maps().find((m) => m.name === 'probe_verdict')!.reused, true);
  } finally {
    big.close();
  }
  assert.throws(() => n.openBpfObject(object, { maxEntries: { nope: 1 } }), (e: unknown) => isErrno(e, 'ENOENT'));
  assert.throws(() => n.openBpfObject(object, { maxEntries: { probe_counters: 0 } }), RangeError);
  rmSync(dir, { recursive: true, force: true });
});
