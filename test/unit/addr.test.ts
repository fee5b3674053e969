// Address and prefix helpers: parse/format round trips and membership.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipToBytes, bytesToIp, canonicalIp, parsePrefix, formatPrefix, prefixContains, prefixCovers, ipToBigInt, bigIntToIp, unmapIpv4 } from '../../src/lib/addr.js';

test('canonical forms', () => {
  const rows: Array<[string, string]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
  ];
  for (const [inp, want] of rows) assert.equal(canonicalIp(inp), want, inp);
});

test('bytes round trip', () => {
  assert.deepEqual([...ipToBytes('192.168.1.254')], [192, 168, 1, 254]);
  assert.equal(bytesToIp(ipToBytes('2001:db8:85a3::8a2e:370:7334')), '2001:db8:85a3::8a2e:370:7334');
  assert.throws(() => ipToBytes('10.0.0'), TypeError);
  assert.throws(() => ipToBytes('nope'), TypeError);
});

test('prefixes', () => {
  const p = parsePrefix('192.168.80.243/28');
  assert.equal(formatPrefix(p), '192.168.80.240/28');
  assert.ok(prefixContains(p, '192.168.80.255'));
  assert.ok(!prefixContains(p, '192.168.81.0'));
  assert.ok(!prefixContains(p, '::1'));
  assert.ok(prefixCovers(parsePrefix('10.0.0.0/8'), parsePrefix('10.1.0.0/16')));
  assert.ok(!prefixCovers(parsePrefix('10.1.0.0/16'), parsePrefix('10.0.0.0/8')));
  assert.equal(formatPrefix(parsePrefix('2001:db8::1/64')), '2001:db8::/64');
  assert.throws(() => parsePrefix('10.0.0.0/33'), /0\.\.32/);
  assert.throws(() => parsePrefix('10.0.0.0/x'));
});

test('bigint conversion', () => {
  assert.equal(ipToBigInt('0.0.1.1'), 257n);
  assert.equal(bigIntToIp(ipToBigInt('10.255.255.255') + 1n, 4), '11.0.0.0');
  assert.equal(bigIntToIp(ipToBigInt('2001:db8::ffff') + 1n, 6), '2001:db8::1:0');
});

test('unmapIpv4: every spelling of an IPv4-mapped address gives the IPv4 address; anything else is unchanged', () => {
  const rows: Array<[string, string]> = [
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1%eth0', '10.0.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::1', '::1'],
    ['::10.0.0.1', '::10.0.0.1'], // IPv4-compatible, not mapped
    ['1::ffff:10.0.0.1', '1::ffff:10.0.0.1'],
    ['::fffe:10.0.0.1', '::fffe:10.0.0.1'],
    ['not an address', 'not an address'],
    ['', ''],
  ];
  for (const [inp, want] of rows) assert.equal(unmapIpv4(inp), want, inp);
});
