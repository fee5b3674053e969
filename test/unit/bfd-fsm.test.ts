// The BFD state machine (RFC 5880 section 6.8.6 and the timeout/administrative events) as a table:
// every (state, event) pair, with the next state and the diagnostic it sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type BfdEvent } from '../../src/bfd/fsm.js';
import { BfdDiag, BfdState, STATE_NAMES } from '../../src/bfd/packet.js';

const { AdminDown, Down, Init, Up } = BfdState;
const recv = (s: BfdState): BfdEvent => ({ kind: 'recv', remoteState: s });
const T: BfdEvent = { kind: 'detect-timeout' };
const AD: BfdEvent = { kind: 'admin-down' };
const AU: BfdEvent = { kind: 'admin-up' };
const N = BfdDiag.NeighborSignaledSessionDown;

// [state, event, next, diag set (undefined: kept), ignored]
const rows: Array<[BfdState, BfdEvent, BfdState, BfdDiag | undefined, boolean]> = [
  // Down (6.8.6: Down -> Init on Down, -> Up on Init; Up and AdminDown keep Down)
  [Down, recv(AdminDown), Down, undefined, false],
  [Down, recv(Down), Init, undefined, false],
  [Down, recv(Init), Up, undefined, false],
  [Down, recv(Up), Down, undefined, false],
  [Down, T, Down, undefined, true],
  [Down, AD, AdminDown, BfdDiag.AdministrativelyDown, false],
  [Down, AU, Down, undefined, true],
  // Init: -> Up on Init or Up; AdminDown from the peer -> Down with diag 3
  [Init, recv(AdminDown), Down, N, false],
  [Init, recv(Down), Init, undefined, false],
  [Init, recv(Init), Up, undefined, false],
  [Init, recv(Up), Up, undefined, false],
  [Init, T, Down, BfdDiag.ControlDetectionTimeExpired, false],
  [Init, AD, AdminDown, BfdDiag.AdministrativelyDown, false],
  [Init, AU, Init, undefined, true],
  // Up: -> Down on Down (diag 3), AdminDown (diag 3), timeout (diag 1)
  [Up, recv(AdminDown), Down, N, false],
  [Up, recv(Down), Down, N, false],
  [Up, recv(Init), Up, undefined, false],
  [Up, recv(Up), Up, undefined, false],
  [Up, T, Down, BfdDiag.ControlDetectionTimeExpired, false],
  [Up, AD, AdminDown, BfdDiag.AdministrativelyDown, false],
  [Up, AU, Up, undefined, true],
  // AdminDown: received packets are discarded; only admin-up leaves it
  [AdminDown, recv(AdminDown), AdminDown, undefined, true],
  [AdminDown, recv(Down), AdminDown, undefined, true],
  [AdminDown, recv(Init), AdminDown, undefined, true],
  [AdminDown, recv(Up), AdminDown, undefined, true],
  [AdminDown, T, AdminDown, undefined, true],
  [AdminDown, AD, AdminDown, BfdDiag.AdministrativelyDown, false],
  [AdminDown, AU, Down, BfdDiag.None, false],
];

test('fsm: every (state, event) pair', () => {
  assert.equal(rows.length, 4 * 7);
  for (const [state, ev, next, diag, ignored] of rows) {
    const desc = `${STATE_NAMES[state]} + ${ev.kind}${ev.kind === 'recv' ? ` ${STATE_NAMES[ev.remoteState]}` : ''}`;
    const t = transition(state, ev);
    assert.equal(t.next, next, `${desc}: next`);
    assert.equal(t.diag, diag, `${desc}: diag`);
    assert.equal(t.ignored ?? false, ignored, `${desc}: ignored`);
  }
});

test('fsm: the three-way handshake from both ends reaches Up', () => {
  // A and B both Down; A hears B's Down -> Init; B hears A's Init -> Up; A hears B's Up -> Up
  let a = transition(Down, recv(Down)).next;
  assert.equal(a, Init);
  const b = transition(Down, recv(a)).next;
  assert.equal(b, Up);
  a = transition(a, recv(b)).next;
  assert.equal(a, Up);
});
