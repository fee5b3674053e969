// Shared fixtures for the config tests: a base file, validate options with fake secret files,
// the row shape, and the row runner. Valid rows give the DesiredState with every default filled;
// invalid rows are rejected whole and report exactly the expected paths (no more, no fewer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/lib/errors.js';
import { parseConfig, validateConfig, type ValidateOptions, type LoadedConfig } from '../../src/config/index.js';
import type { DesiredState } from '../../src/model/desired-state.js';

export type Cfg = Record<string, any>;

export const SECRETS: Record<string, string> = {
  '/etc/edgelb/peer.key': 's3cret-md5\n',
  '/etc/edgelb/api.token': 'token-0123456789abcdef\n',
  '/etc/edgelb/empty.key': '\n',
  '/etc/edgelb/long.key': 'x'.repeat(81),
};
export const MODES: Record<string, number> = { '/etc/edgelb/cluster.key': 0o100600, '/etc/edgelb/loose.key': 0o100644 };

export const opts = (extra: Partial<ValidateOptions> = {}): ValidateOptions => ({
  source: 'test.yaml',
  baseDir: '/etc/edgelb',
  env: {},
  readSecret: (p) => {
    const v = SECRETS[p];
    if (v === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return v;
  },
  statFile: (p) => {
    const m = MODES[p];
    if (m === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return { mode: m, size: 32 };
  },
  interfaceAddress: () => undefined,
  ...extra,
});

export const base = (): Cfg => ({
  node: { name: 'edge-1', routerId: '10.0.0.11', interface: 'eth0' },
  bgp: { asn: 64513, peers: [{ address: '10.0.0.1', asn: 64512 }] },
  pools: [{ name: 'default', cidrs: ['192.168.80.240/28'] }],
  services: [{ name: 'web', vip: '192.168.80.241', ports: [{ port: 80 }], endpoints: ['10.0.1.2'] }],
});

export interface Row {
  desc: string;
  /** Change the base config (or return a whole new one). */
  edit?: (c: Cfg) => Cfg | void;
  /** Use this YAML text instead of the base. */
  yaml?: string;
  opts?: Partial<ValidateOptions>;
  /** Exact set of error paths; absent means the file is valid. */
  errors?: string[];
  /** Substring expected in the message of the first error. */
  message?: string | RegExp;
  /** Exact set of warning paths (valid rows). */
  warnings?: string[];
  check?: (s: DesiredState, r: LoadedConfig) => void;
}

export const svc = (c: Cfg, i = 0) => c.services[i];
export const peer = (c: Cfg, i = 0) => c.bgp.peers[i];

/** One test per row, named `config: <desc>`. */
export function testRows(rows: Row[]): void {
  for (const row of rows) {
    test(`config: ${row.desc}`, () => {
      const o = opts(row.opts);
      const run = (): LoadedConfig => {
        if (row.yaml !== undefined) return parseConfig(row.yaml, o);
        const c = base();
        const edited = row.edit?.(c) ?? c;
        return validateConfig(structuredClone(edited), o);
      };
      if (row.errors) {
        let err: unknown;
        try {
          run();
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.equal(err.code, 'EDGELB_ERR_CONFIG_INVALID');
        assert.deepEqual(err.issues.map((i) => i.path).sort(), [...row.errors].sort(), err.message);
        if (row.message) {
          const m = err.issues[0]!.message;
          if (typeof row.message === 'string') assert.ok(m.includes(row.message), `message "${m}" lacks "${row.message}"`);
          else assert.match(m, row.message);
        }
        // the message names every path in the DESIGN format
        for (const i of err.issues) assert.ok(err.message.includes(`${i.path || '(root)'}: ${i.message}`));
      } else {
        const r = run();
        if (row.warnings) assert.deepEqual(r.warnings.map((w) => w.path).sort(), [...row.warnings].sort(), JSON.stringify(r.warnings));
        row.check?.(r.state, r);
      }
    });
  }
}
