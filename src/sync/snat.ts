// Which node answers for each node's SNAT address (the onearm source of the flows it translates):
// the owner while it is alive, else one survivor chosen by rendezvous hashing over the live set,
// so every node computes the same holder from the same membership view and a second death moves
// only the addresses the dead node held. Pure.
import { createHash } from 'node:crypto';

function score(address: string, node: string): bigint {
  return createHash('sha256').update(`${address}\0${node}`).digest().readBigUInt64BE(0);
}

/** The live node that answers for `owner`'s address, or undefined when nobody is live. */
export function snatHolder(owner: string, address: string, live: readonly string[]): string | undefined {
  if (live.includes(owner)) return owner;
  let best: string | undefined;
  let bestScore = -1n;
  for (const n of [...live].sort()) {
    const s = score(address, n);
    if (s > bestScore) {
      best = n;
      bestScore = s;
    }
  }
  return best;
}

/** The SNAT addresses `self` answers for, sorted: its own, and those of dead nodes it adopts. */
export function heldSnatAddresses(snat: Readonly<Record<string, string>>, live: readonly string[], self: string): string[] {
  const liveSet = live.includes(self) ? live : [...live, self];
  return Object.entries(snat)
    .filter(([owner, addr]) => snatHolder(owner, addr, liveSet) === self)
    .map(([, addr]) => addr)
    .sort();
}
