// The cluster key file (cluster.keyFile, the Kubernetes Secret's `key`) as a key ring, for key
// rotation without an outage: the file may list several keys, one per line; a node signs what it
// sends (heartbeats, sync batches) with the first key (the primary) and accepts a datagram signed
// with any listed key. Rotation: add the new key as a second line on every node, then move it to
// the first line on every node, then drop the old line (docs/architecture.md, "The cluster key").
// Pure: parsing, the ring, and the MAC check both codecs share.
//
// Format: UTF-8 text; "\n" or "\r\n" line ends; lines that are blank or start with "#" are
// ignored; every other line is one key, at least 16 bytes, with no leading or trailing space or
// tab, each key once, at most 8 keys, the file at most 64 KiB.
// Compatibility: before key lists a node keyed its MAC with the file's bytes, line end included.
// So every key is also accepted with "\n" or "\r\n" appended, and a file that is exactly one key
// line (nothing else) signs with its bytes as they are: a rolling upgrade from such a version
// never splits the cluster. A file that is not text (a key of random bytes) is one key, its bytes.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const CLUSTER_KEY_MIN_BYTES = 16;
export const CLUSTER_KEY_MAX_BYTES = 1024;
export const CLUSTER_KEYS_MAX = 8;
export const CLUSTER_KEY_FILE_MAX_BYTES = 64 * 1024;

/** One listed key. */
export interface ClusterKey {
  /** The key's bytes (the line without its line end). */
  bytes: Uint8Array;
  /** A short, non-secret name for logs: the first 8 hex digits of a hash of the key. */
  id: string;
  /** 1-based line in the file (0 for a binary file). */
  line: number;
}

/**
 * What a node signs with and what it accepts; plain data, so it crosses to worker threads.
 * `accept` lists every MAC key form in order of preference, `key` the index in `keys` it belongs to
 * (0 = the primary).
 */
export interface KeyRing {
  send: Uint8Array;
  accept: Array<{ bytes: Uint8Array; key: number }>;
  /** The ids of the keys, primary first (for logs and the API: never the keys themselves). */
  ids: string[];
}

export type ParsedKeys = { ok: true; keys: ClusterKey[]; ring: KeyRing; format: 'list' | 'binary' } | { ok: false; error: string };

/** A short, non-secret name of a key for logs ("which key is still used"). */
export function keyId(bytes: Uint8Array): string {
  return createHash('sha256').update('edgelb cluster key id\0').update(bytes).digest('hex').slice(0, 8);
}

/** Text a person wrote: valid UTF-8 with no control character but tab, CR and LF. */
function isText(raw: Buffer): boolean {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return false;
  }
  return !/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(s);
}

/** Parse a key file's bytes. Never throws; an error names the line and what is wrong with it. */
export function parseClusterKeys(input: Uint8Array): ParsedKeys {
  const raw = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (raw.length === 0) return { ok: false, error: 'the key file is empty' };
  if (raw.length > CLUSTER_KEY_FILE_MAX_BYTES) return { ok: false, error: `the key file is ${raw.length} bytes; at most ${CLUSTER_KEY_FILE_MAX_BYTES} (${CLUSTER_KEYS_MAX} keys, one per line)` };
  if (!isText(raw)) {
    // a key of random bytes, as the file format before key lists allowed: one key, as it is
    if (raw.length < CLUSTER_KEY_MIN_BYTES) return { ok: false, error: `the key (binary, ${raw.length} bytes) is shorter than ${CLUSTER_KEY_MIN_BYTES} bytes` };
    const id = keyId(raw);
    const bytes = Uint8Array.from(raw);
    return { ok: true, format: 'binary', keys: [{ bytes, id, line: 0 }], ring: { send: bytes, accept: [{ bytes, key: 0 }], ids: [id] } };
  }
  const text = raw.toString('utf8');
  const lines = text.split('\n');
  const keys: ClusterKey[] = [];
  const seen = new Map<string, number>();
  let other = false; // anything but the key lines (comments, blank lines): not the one-key form
  for (const [i, full] of lines.entries()) {
    const n = i + 1;
    const line = full.endsWith('\r') ? full.slice(0, -1) : full;
    if (line.includes('\r')) return { ok: false, error: `line ${n}: a carriage return inside the line (line ends are "\\n" or "\\r\\n")` };
    if (line.trim() === '') {
      if (i < lines.length - 1 || line !== '') other = true; // not the empty rest after a final line end
      continue;
    }
    if (line.trimStart().startsWith('#')) {
      other = true;
      continue;
    }
    if (line.startsWith('\uFEFF')) return { ok: false, error: `line ${n}: starts with a byte order mark (save the file as UTF-8 without BOM)` };
    if (line !== line.trim()) return { ok: false, error: `line ${n}: the key starts or ends with a space or tab (they would be part of the key; remove them)` };
    const bytes = Buffer.from(line, 'utf8');
    if (bytes.length < CLUSTER_KEY_MIN_BYTES) return { ok: false, error: `line ${n}: the key is ${bytes.length} bytes; at least ${CLUSTER_KEY_MIN_BYTES}` };
    if (bytes.length > CLUSTER_KEY_MAX_BYTES) return { ok: false, error: `line ${n}: the key is ${bytes.length} bytes; at most ${CLUSTER_KEY_MAX_BYTES}` };
    const dup = seen.get(line);
    if (dup !== undefined) return { ok: false, error: `line ${n}: the same key as line ${dup} (list each key once)` };
    seen.set(line, n);
    keys.push({ bytes: Uint8Array.from(bytes), id: keyId(bytes), line: n });
    if (keys.length > CLUSTER_KEYS_MAX) return { ok: false, error: `line ${n}: more than ${CLUSTER_KEYS_MAX} keys (a rotation needs two)` };
  }
  if (keys.length === 0) return { ok: false, error: 'the key file holds no key (only blank lines or comments)' };
  const accept: KeyRing['accept'] = [];
  for (const [k, key] of keys.entries()) {
    accept.push({ bytes: key.bytes, key: k });
    for (const end of ['\n', '\r\n']) accept.push({ bytes: Buffer.concat([key.bytes, Buffer.from(end)]), key: k });
  }
  // exactly one key line and nothing else: sign with the file's bytes, as edgelb before key lists did
  const send = keys.length === 1 && !other ? Uint8Array.from(raw) : keys[0]!.bytes;
  return { ok: true, format: 'list', keys, ring: { send, accept, ids: keys.map((k) => k.id) } };
}

/** A ring of one key, used as it is (tests, and callers that hold a single secret). */
export function singleKeyRing(key: Uint8Array): KeyRing {
  return { send: key, accept: [{ bytes: key, key: 0 }], ids: [keyId(key)] };
}

/** A codec's key argument: one key (as before key lists) or a ring. */
export type MacKeys = Uint8Array | KeyRing;

export function ringOf(k: MacKeys): KeyRing {
  return k instanceof Uint8Array ? singleKeyRing(k) : k;
}

export function macOf(keys: MacKeys, data: Uint8Array, len = 32): Buffer {
  return createHmac('sha256', ringOf(keys).send).update(data).digest().subarray(0, len);
}

/**
 * Which accepted key form made `mac` over `data`: its index in ring.accept, or -1. Tries `first`
 * (the form that last matched this sender) before the others, so a steady stream costs one HMAC.
 */
export function matchMac(keys: MacKeys, data: Uint8Array, mac: Uint8Array, first = 0): number {
  const ring = ringOf(keys);
  const n = ring.accept.length;
  const start = first >= 0 && first < n ? first : 0;
  for (let j = 0; j < n; j++) {
    const i = (start + j) % n;
    const want = createHmac('sha256', ring.accept[i]!.bytes).update(data).digest();
    if (want.length === mac.length && timingSafeEqual(want, mac)) return i;
  }
  return -1;
}
