// A drain that outlives the process: `edgelb drain` leaves a marker beside the node's BPF pins
// (/sys/fs/bpf/edgelb/<node>/drained, an empty directory, the one kind of file bpffs allows
// besides pinned objects), so a restarted or upgraded daemon starts drained and announces nothing
// until `edgelb drain --undo`. `edgelb cleanup` (uninstall) removes it with the pins.
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';

export const DRAIN_MARKER = 'drained';

export class DrainState {
  readonly path: string;
  private readonly log: Logger;

  /** `pinDir`: the node's pin folder (dataplane.pinRoot, else <pin base>/<node.name>). */
  constructor(pinDir: string, logger: Logger) {
    this.path = join(pinDir, DRAIN_MARKER);
    this.log = logger.child({ subsystem: 'drain' });
  }

  /** Whether a previous daemon left this node drained. An unreadable folder counts as not drained. */
  persisted(): boolean {
    return existsSync(this.path);
  }

  /** Remember (true) or forget (false) the drain. Failure is logged: the drain still holds in memory. */
  save(drained: boolean): boolean {
    try {
      if (drained) mkdirSync(this.path, { recursive: true });
      else if (existsSync(this.path)) {
        rmdirSync(this.path);
        // a node folder the marker alone made (no data path pins in it) goes with it
        const dir = dirname(this.path);
        if (readdirSync(dir).length === 0) rmdirSync(dir);
      }
      return true;
    } catch (e) {
      this.log.warn({ path: this.path, drained, err: errorMessage(e) }, `could not ${drained ? 'record' : 'clear'} the drain beside the pins: it will ${drained ? 'not survive' : 'come back after'} a restart`);
      return false;
    }
  }
}
