// The cluster key file, followed live: read and parsed at start (lib/cluster-keys.ts), then re-read
// when its folder changes (an editor's rename, a Kubernetes Secret's `..data` symlink swap), on
// every config reload (SIGHUP), and every few seconds as a safety net for file systems that do not
// report changes. A good file hands its key ring to the listeners (heartbeats, sync) without a
// restart: that is how a rotation runs. A bad one (empty, blank, a short or duplicate key, too
// big, unreadable, gone) is refused whole, said once in the log with the line at fault, counted,
// and the last good keys stay in use.
import { EventEmitter } from 'node:events';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { parseClusterKeys, type KeyRing } from '../lib/cluster-keys.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';

export interface ClusterKeyFileOptions {
  file: string;
  logger: Logger;
  registry: Registry;
  /** Quiet time after a change in the folder before the file is read (default 200 ms). */
  debounceMs?: number;
  /** Re-read this often whatever the watch says (default 5 s; 0 = never). */
  pollMs?: number;
  /** Read the file (tests); default fs.readFileSync. */
  read?: (path: string) => Buffer;
}

export interface ClusterKeyFileEvents {
  /** A new good key ring (not emitted for the first load, which load() returns). */
  keys: [ring: KeyRing];
}

export class ClusterKeyFile extends EventEmitter<ClusterKeyFileEvents> {
  private readonly log: Logger;
  private readonly read: (path: string) => Buffer;
  private lastBytes: Buffer | undefined;
  private lastBad: string | undefined;
  private ring: KeyRing | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly mKeys: Gauge;
  private readonly mRejected: Counter;
  private readonly mLoads: Counter;

  constructor(private readonly opts: ClusterKeyFileOptions) {
    super();
    this.log = opts.logger.child({ subsystem: 'cluster', keyFile: opts.file });
    this.read = opts.read ?? ((p) => readFileSync(p));
    const registers = [opts.registry];
    this.mKeys = new Gauge({ name: 'edgelb_cluster_keys', help: 'Keys in the cluster key file in use (the first signs, every one is accepted); 0 = no key yet', registers });
    this.mRejected = new Counter({ name: 'edgelb_cluster_keyfile_rejected_total', help: 'Reads of the cluster key file refused (empty, short or duplicate key, too big, unreadable): the last good keys stay in use', registers });
    this.mLoads = new Counter({ name: 'edgelb_cluster_keyfile_loads_total', help: 'Changed cluster key files taken into use (the first load included)', registers });
  }

  /** The keys in use, if any. */
  current(): KeyRing | undefined {
    return this.ring;
  }

  /**
   * First read. A missing file is no key when `missingOk` (Kubernetes mode: the Secret may come
   * later); any other fault throws EDGELB_ERR_CLUSTER naming the file and the line.
   */
  load(missingOk = false): KeyRing | undefined {
    let bytes: Buffer;
    try {
      bytes = this.read(this.opts.file);
    } catch (e) {
      if (missingOk && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster key file ${this.opts.file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`);
    }
    const r = parseClusterKeys(bytes);
    if (!r.ok) throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster key file ${this.opts.file}: ${r.error}`);
    this.take(bytes, r.ring, r.format);
    return r.ring;
  }

  private take(bytes: Buffer, ring: KeyRing, format: string): void {
    const first = !this.ring;
    this.lastBytes = bytes;
    this.lastBad = undefined;
    this.ring = ring;
    this.mKeys.set(ring.ids.length);
    this.mLoads.inc();
    const info = { keys: ring.ids, primary: ring.ids[0], format };
    if (first) this.log.info(info, `cluster keys loaded: ${ring.ids.length} (signing with ${ring.ids[0]})`);
    else this.log.warn(info, `cluster key file changed: signing with ${ring.ids[0]}, accepting ${ring.ids.join(', ')}`);
  }

  /** Read the file again now; emits `keys` when it changed and is good. Never throws. */
  reload(reason: string): void {
    let bytes: Buffer;
    try {
      bytes = this.read(this.opts.file);
    } catch (e) {
      return this.refuse(`cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`, reason);
    }
    if (this.lastBytes && bytes.equals(this.lastBytes)) {
      this.lastBad = undefined;
      return;
    }
    const r = parseClusterKeys(bytes);
    if (!r.ok) return this.refuse(r.error, reason);
    this.take(bytes, r.ring, r.format);
    this.emit('keys', r.ring);
  }

  private refuse(why: string, reason: string): void {
    if (why === this.lastBad) return; // said once per fault, not once per poll
    this.lastBad = why;
    this.mRejected.inc();
    const kept = this.ring ? `keeping the keys in use (${this.ring.ids.join(', ')})` : 'no key in use yet';
    this.log.error({ reason, why, kept: this.ring?.ids ?? [] }, `cluster key file ${this.opts.file} refused: ${why}; ${kept}`);
  }

  /** Follow the file: its folder's changes, and a poll. */
  start(): void {
    try {
      this.watcher = watch(dirname(this.opts.file), () => {
        // a Secret volume swaps its `..data` symlink, editors rename: any change in the folder
        // counts (a read of an unchanged file costs a compare)
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.reload('file changed'), this.opts.debounceMs ?? 200);
        this.debounce.unref?.();
      });
      this.watcher.on('error', (e) => this.log.warn({ err: errorMessage(e) }, 'cluster key folder watch failed: the file is re-read by the poll and on SIGHUP'));
      this.watcher.unref?.();
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, 'cannot watch the cluster key folder: the file is re-read by the poll and on SIGHUP');
    }
    const pollMs = this.opts.pollMs ?? 5000;
    if (pollMs > 0) {
      this.poll = setInterval(() => this.reload('poll'), pollMs);
      this.poll.unref?.();
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.poll) clearInterval(this.poll);
    this.debounce = this.poll = undefined;
  }
}
