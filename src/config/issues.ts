// Issue paths and messages: format `bgp.peers[1].asn`, turn zod issues into edgelb Issues with
// plain-English messages, and suggest the nearest known key for an unknown one.
import type { z } from 'zod';
import type { Issue } from '../lib/errors.js';
import { KNOWN_KEYS } from './schema.js';

export type PathPart = string | number;

/** ['bgp','peers',1,'asn'] → "bgp.peers[1].asn"; odd keys are quoted: prefixSets["a b"]. */
export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** The known key closest to `key` (case-insensitive equal, or at most 2 edits), if any. */
export function suggestKey(key: string): string | undefined {
  const lower = key.toLowerCase();
  const exact = KNOWN_KEYS.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN_KEYS) {
    const dist = levenshtein(lower, k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map (key: value)',
  integer: 'an integer',
};

/** zod's generic messages rewritten in the config's words. */
export function zodIssueToIssues(zi: z.ZodIssue, base: readonly PathPart[]): Issue[] {
  const path = [...base, ...zi.path];
  if (zi.code === 'unrecognized_keys') {
    return zi.keys.map((k) => {
      const hint = k === 'password' ? 'not allowed in the file; put the password in passwordFile' : undefined;
      const sug = hint ? undefined : suggestKey(k);
      return { path: formatPath([...path, k]), message: hint ?? (sug ? `unknown key (did you mean ${sug}?)` : 'unknown key') };
    });
  }
  if (zi.code === 'invalid_type') {
    if (zi.received === 'undefined') return [{ path: formatPath(path), message: 'required' }];
    // custom invalid_type_error messages come through as zi.message
    const generic = zi.message.startsWith('Expected ') || zi.message === 'Required';
    const message = generic ? `must be ${TYPE_WORDS[zi.expected] ?? zi.expected}` : zi.message;
    return [{ path: formatPath(path), message }];
  }
  return [{ path: formatPath(path), message: zi.message }];
}
