// The router's BFD session states seen while a test does something to our side: sampled every
// 100 ms, "gone" when the router has no session. Shared by the BFD offload lab tests.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Add every state `read` reports during `ms` milliseconds to `into`. */
export async function sampleStates(read: () => Promise<{ state: string } | undefined>, into: Set<string>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  do {
    into.add((await read())?.state ?? 'gone');
    await sleep(100);
  } while (Date.now() < until);
}
