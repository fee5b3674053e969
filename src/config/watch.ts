// ConfigSource: the YAML file as a source of DesiredState. Loads it, reloads on request (the
// daemon calls reload() on SIGHUP) and when its FOLDER changes (editors and Kubernetes ConfigMaps
// replace the file instead of writing it), debounced. A good load emits `state`; a bad one emits
// `invalid` and the last good state stays current: a bad file is never half-applied.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { EdgelbError, errorMessage, type Issue } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { DesiredState } from '../model/desired-state.js';
import { parseConfig, type LoadedConfig, type LoadOptions } from './load.js';

export interface ReloadInfo {
  /** What asked for the load: "start", "SIGHUP", "file changed", or the caller's words. */
  reason: string;
  /** The file path. */
  source: string;
}

export interface ConfigSourceEvents {
  /** A good load: the new state and its warnings. Emitted on every good (re)load. */
  state: [state: DesiredState, info: ReloadInfo & { warnings: Issue[] }];
  /** A bad load: ConfigError (with `issues`) or EdgelbError EDGELB_ERR_CONFIG_READ. The last good
   *  state stays current. */
  invalid: [error: EdgelbError, info: ReloadInfo];
}

export interface ConfigSourceOptions extends LoadOptions {
  /** Quiet period after the last change in the folder before reloading; default 200 ms. */
  debounceMs?: number;
  /** Watch the folder for changes; default true. */
  watch?: boolean;
  logger?: Logger;
}

export class ConfigSource extends EventEmitter<ConfigSourceEvents> {
  readonly file: string;
  private last: LoadedConfig | undefined;
  private lastText: string | undefined;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    file: string,
    private readonly opts: ConfigSourceOptions = {},
  ) {
    super();
    this.file = resolve(file);
  }

  /** The last good config, if any. */
  current(): LoadedConfig | undefined {
    return this.last;
  }

  /**
   * First load. Throws the ConfigError / read error when the file is bad (the daemon then exits);
   * on success emits `state`, then starts watching the folder.
   */
  async start(): Promise<LoadedConfig> {
    const text = await this.read();
    const loaded = this.parse(text);
    this.lastText = text;
    this.last = loaded;
    this.emit('state', loaded.state, { reason: 'start', source: this.file, warnings: loaded.warnings });
    if (this.opts.watch !== false) await this.startWatching();
    return loaded;
  }

  /**
   * Load the file again now (SIGHUP). Resolves with the new config, or undefined when it was bad
   * (then `invalid` was emitted and the last good state is kept). Never throws.
   */
  reload(reason = 'SIGHUP'): Promise<LoadedConfig | undefined> {
    return this.enqueue(() => this.doReload(reason, false));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async doReload(reason: string, onlyIfChanged: boolean): Promise<LoadedConfig | undefined> {
    if (this.closed) return undefined;
    const info: ReloadInfo = { reason, source: this.file };
    let text: string;
    try {
      text = await this.read();
    } catch (e) {
      this.emit('invalid', e as EdgelbError, info);
      return undefined;
    }
    if (onlyIfChanged && text === this.lastText) return undefined;
    this.lastText = text;
    let loaded: LoadedConfig;
    try {
      loaded = this.parse(text);
    } catch (e) {
      const err = e instanceof EdgelbError ? e : new EdgelbError('EDGELB_ERR_INTERNAL', errorMessage(e), { cause: e });
      this.emit('invalid', err, info);
      return undefined;
    }
    this.last = loaded;
    this.emit('state', loaded.state, { ...info, warnings: loaded.warnings });
    return loaded;
  }

  private async read(): Promise<string> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (e) {
      throw new EdgelbError('EDGELB_ERR_CONFIG_READ', `cannot read ${this.file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`, {
        cause: e,
      });
    }
  }

  private parse(text: string): LoadedConfig {
    return parseConfig(text, { ...this.opts, source: this.file, baseDir: dirname(this.file) });
  }

  private async startWatching(): Promise<void> {
    const dirs = new Set([dirname(this.file)]);
    // a file that is a symlink into another folder changes there
    try {
      dirs.add(dirname(await realpath(this.file)));
    } catch {
      /* the file was just read; a race here only costs the second folder */
    }
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.changed());
        w.on('error', (e) => this.opts.logger?.warn({ err: errorMessage(e), dir }, 'config folder watch failed; SIGHUP still reloads'));
        this.watchers.push(w);
      } catch (e) {
        this.opts.logger?.warn({ err: errorMessage(e), dir }, 'cannot watch the config folder; SIGHUP still reloads');
      }
    }
    this.opts.logger?.debug({ dirs: [...dirs], file: basename(this.file) }, 'watching the config folder');
  }

  /** Any event in the folder: wait for it to settle, then reload if the file's text changed. */
  private changed(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.doReload('file changed', true));
    }, this.opts.debounceMs ?? 200);
  }
}
