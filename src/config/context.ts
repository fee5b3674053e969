// Validation context: collects every error and warning with its path while sections are parsed
// one by one, and gives file access (secrets) through injectable functions.
import { readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { z } from 'zod';
import type { Issue } from '../lib/errors.js';
import type { LbMode } from '../model/desired-state.js';
import { formatPath, zodIssueToIssues, type PathPart } from './issues.js';

export interface ValidateOptions {
  /** Name of the input in messages (the file path). */
  source?: string;
  /** Relative passwordFile / keyFile / tokenFile paths resolve against this folder (the file's). */
  baseDir?: string;
  /** Kubernetes mode: node.name may come from NODE_NAME, routerId may be filled later, and
   *  peers, pools, services and policies in the file are ignored (they come from CRDs). */
  kubernetes?: boolean;
  /** Environment (NODE_NAME); default process.env. */
  env?: Record<string, string | undefined>;
  /** Mode of services that give none (`--default-lbmode`); default onearm. */
  defaultLbMode?: LbMode;
  /** Read a secret file (passwordFile, tokenFile); default fs.readFileSync(path, 'utf8'). */
  readSecret?: (path: string) => string;
  /** Stat a file (keyFile mode check); default fs.statSync. */
  statFile?: (path: string) => { mode: number; size: number };
  /** IPv4 address of an interface, the fallback of node.routerId; default os.networkInterfaces(). */
  interfaceAddress?: (ifname: string) => string | undefined;
}

export function defaultInterfaceAddress(ifname: string): string | undefined {
  return networkInterfaces()[ifname]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
}

export class Ctx {
  readonly errors: Issue[] = [];
  readonly warnings: Issue[] = [];
  readonly readSecretFn: (path: string) => string;
  readonly statFn: (path: string) => { mode: number; size: number };
  readonly baseDir: string;

  constructor(readonly opts: ValidateOptions) {
    this.readSecretFn = opts.readSecret ?? ((p) => readFileSync(p, 'utf8'));
    this.statFn = opts.statFile ?? ((p) => statSync(p));
    this.baseDir = opts.baseDir ?? process.cwd();
  }

  error(path: readonly PathPart[], message: string): void {
    this.errors.push({ path: formatPath(path), message });
  }

  warn(path: readonly PathPart[], message: string): void {
    this.warnings.push({ path: formatPath(path), message });
  }

  /** Parse `value` with `schema`; on failure record every issue under `path` and return undefined. */
  parse<S extends z.ZodTypeAny>(schema: S, value: unknown, path: readonly PathPart[]): z.output<S> | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data as z.output<S>;
    for (const zi of r.error.issues) this.errors.push(...zodIssueToIssues(zi, path));
    return undefined;
  }

  /** A list section: each item is parsed on its own; returns [index, item] of the good ones. */
  parseList<S extends z.ZodTypeAny>(schema: S, value: unknown, path: readonly PathPart[]): Array<[number, z.output<S>]> {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(path, 'must be a list');
      return [];
    }
    const out: Array<[number, z.output<S>]> = [];
    value.forEach((item, i) => {
      const v = this.parse(schema, item, [...path, i]);
      if (v !== undefined) out.push([i, v]);
    });
    return out;
  }

  resolvePath(p: string): string {
    return resolve(this.baseDir, p);
  }

  /** Read a secret file; trailing newline dropped. Records an error (never the content) on failure. */
  readSecret(path: readonly PathPart[], file: string): string | undefined {
    const abs = this.resolvePath(file);
    try {
      const v = this.readSecretFn(abs).replace(/\r?\n$/, '');
      if (v.length === 0) {
        this.error(path, `${abs} is empty`);
        return undefined;
      }
      return v;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.error(path, `cannot read ${abs} (${code})`);
      return undefined;
    }
  }
}

/** Raw `name` of a list item that failed to parse, so references to it do not cascade into errors. */
export function rawNames(value: unknown): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(value))
    for (const item of value)
      if (item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string') out.add((item as { name: string }).name);
  return out;
}

/**
 * Duplicates in a raw list, found on the raw items so an item that fails other checks still
 * counts: `key` gives an item's identity (undefined: skip it). Each repeat gets an error at
 * `path[i].field` naming the first one. Returns the indices of the repeats.
 */
export function checkDuplicates(
  ctx: Ctx,
  raw: unknown,
  path: readonly PathPart[],
  field: string,
  key: (item: Record<string, unknown>) => string | undefined,
  show: (item: Record<string, unknown>) => string,
): Set<number> {
  const dups = new Set<number>();
  if (!Array.isArray(raw)) return dups;
  const seen = new Map<string, number>();
  raw.forEach((item: unknown, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return;
    const k = key(item as Record<string, unknown>);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else {
      ctx.error([...path, i, field], `duplicate of ${formatPath([...path, first])} (${show(item as Record<string, unknown>)})`);
      dups.add(i);
    }
  });
  return dups;
}

/** `name` of a raw item when it is a string. */
export const rawName = (item: Record<string, unknown>): string | undefined => (typeof item.name === 'string' ? item.name : undefined);
