// Table tests of the pure BGP FSM (src/bgp/fsm.ts): every state × event, RFC 6608 subcodes,
// hold-time negotiation, back-off and collision resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BgpState as S,
  FsmEvent as E,
  StateReason as R,
  transition,
  fsmErrorSubcode,
  negotiateHoldTime,
  connectRetryDelayMs,
  idleHoldDelayMs,
  resolveCollision,
  validHoldTime,
  type FsmAction,
} from '../../src/bgp/fsm.js';

/** Actions as short strings: "connect", "notify 6/2", "fail 5/1 rx", "start hold/large". */
function brief(a: FsmAction): string {
  switch (a.type) {
    case 'sendNotification':
      return `notify ${a.notify.code}/${a.notify.subcode}`;
    case 'fail':
      return a.notify ? `fail ${a.notify.code}/${a.notify.subcode} ${a.errClass}` : `fail ${a.errClass}`;
    case 'startTimer':
      return `start ${a.timer}${a.kind ? '/' + a.kind : ''}`;
    case 'stopTimer':
      return `stop ${a.timer}`;
    default:
      return a.type;
  }
}

interface Row {
  desc: string;
  state: S;
  passive?: boolean;
  event: E;
  notify?: { code: number; subcode: number };
  next: S;
  reason?: R;
  /** actions that must be present, in this relative order */
  has: string[];
  /** actions that must be absent */
  not?: string[];
}

const rows: Row[] = [
  // Idle
  { desc: 'start connects', state: S.Idle, event: E.ManualStart, next: S.Connect, reason: R.AdminStart, has: ['start connectRetry', 'connect'] },
  { desc: 'passive start waits', state: S.Idle, event: E.ManualStartPassive, next: S.Active, has: [], not: ['connect', 'start connectRetry'] },
  { desc: 'idle hold expiry restarts active peer', state: S.Idle, event: E.IdleHoldTimerExpires, next: S.Connect, reason: R.IdleHoldExpired, has: ['connect'] },
  { desc: 'idle hold expiry restarts passive peer in Active', state: S.Idle, passive: true, event: E.IdleHoldTimerExpires, next: S.Active, has: [], not: ['connect'] },
  { desc: 'Idle refuses incoming', state: S.Idle, event: E.TcpConnectionConfirmed, next: S.Idle, reason: R.Ignored, has: ['drop'] },
  { desc: 'Idle ignores OPEN', state: S.Idle, event: E.BGPOpen, next: S.Idle, reason: R.Ignored, has: [], not: ['fail 5/0 rx'] },
  { desc: 'Idle ignores hold expiry', state: S.Idle, event: E.HoldTimerExpires, next: S.Idle, has: [] },
  { desc: 'Idle ignores keepalive', state: S.Idle, event: E.KeepAliveMsg, next: S.Idle, has: [] },
  { desc: 'Idle stop cancels idle hold', state: S.Idle, event: E.ManualStop, next: S.Idle, has: ['stop idleHold', 'drop'], not: ['notify 6/2'] },
  // Connect
  { desc: 'Connect: connected sends OPEN', state: S.Connect, event: E.TcpCRAcked, next: S.OpenSent, reason: R.TcpConnected, has: ['stop connectRetry', 'sendOpen', 'start hold/large'] },
  { desc: 'Connect: incoming accepted', state: S.Connect, event: E.TcpConnectionConfirmed, next: S.OpenSent, has: ['sendOpen'] },
  { desc: 'Connect: retry timer reconnects', state: S.Connect, event: E.ConnectRetryTimerExpires, next: S.Connect, reason: R.ConnectRetry, has: ['drop', 'start connectRetry', 'connect'] },
  { desc: 'Connect: TCP fails → Active, retry later', state: S.Connect, event: E.TcpConnectionFails, next: S.Active, reason: R.TcpFailed, has: ['drop', 'start connectRetry'], not: ['connect'] },
  { desc: 'Connect: stop, no NOTIFICATION (no OPEN yet)', state: S.Connect, event: E.ManualStop, next: S.Idle, has: ['stop connectRetry', 'drop'], not: ['notify 6/2'] },
  { desc: 'Connect: OPEN is an FSM error (unspecified)', state: S.Connect, event: E.BGPOpen, next: S.Idle, reason: R.FsmError, has: ['fail 5/0 rx', 'start idleHold'] },
  { desc: 'Connect: KEEPALIVE is an FSM error', state: S.Connect, event: E.KeepAliveMsg, next: S.Idle, has: ['fail 5/0 rx'] },
  { desc: 'Connect: UPDATE is an FSM error', state: S.Connect, event: E.UpdateMsg, next: S.Idle, has: ['fail 5/0 rx'] },
  { desc: 'Connect: hold expiry is an FSM error', state: S.Connect, event: E.HoldTimerExpires, next: S.Idle, has: ['fail 5/0 rx'] },
  { desc: 'Connect: start again ignored', state: S.Connect, event: E.ManualStart, next: S.Connect, reason: R.Ignored, has: [] },
  { desc: 'Connect: automatic stop backs off', state: S.Connect, event: E.AutomaticStop, next: S.Idle, has: ['fail admin', 'start idleHold'] },
  // Active
  { desc: 'Active: incoming accepted', state: S.Active, event: E.TcpConnectionConfirmed, next: S.OpenSent, has: ['stop connectRetry', 'sendOpen', 'start hold/large'] },
  { desc: 'Active: retry timer → Connect', state: S.Active, event: E.ConnectRetryTimerExpires, next: S.Connect, has: ['start connectRetry', 'connect'] },
  { desc: 'Active passive: retry timer never connects', state: S.Active, passive: true, event: E.ConnectRetryTimerExpires, next: S.Active, has: [], not: ['connect'] },
  { desc: 'Active passive: TCP fails stays Active without timer', state: S.Active, passive: true, event: E.TcpConnectionFails, next: S.Active, has: ['drop'], not: ['start connectRetry'] },
  { desc: 'Active: NOTIFICATION is an FSM error', state: S.Active, event: E.NotifMsg, next: S.Idle, has: ['fail 5/0 rx'] },
  { desc: 'Active: route refresh is an FSM error', state: S.Active, event: E.RouteRefreshMsg, next: S.Idle, has: ['fail 5/0 rx'] },
  { desc: 'Active: stop', state: S.Active, event: E.ManualStop, next: S.Idle, reason: R.AdminStop, has: ['drop'], not: ['notify 6/2'] },
  // OpenSent
  { desc: 'OpenSent: OPEN → OpenConfirm with KEEPALIVE', state: S.OpenSent, event: E.BGPOpen, next: S.OpenConfirm, reason: R.OpenReceived, has: ['sendKeepalive', 'start keepalive', 'start hold/negotiated'] },
  { desc: 'OpenSent: hold expiry', state: S.OpenSent, event: E.HoldTimerExpires, next: S.Idle, reason: R.HoldTimerExpired, has: ['fail 4/0 rx', 'start idleHold'] },
  { desc: 'OpenSent: bad OPEN sends its NOTIFICATION', state: S.OpenSent, event: E.BGPOpenMsgErr, notify: { code: 2, subcode: 2 }, next: S.Idle, reason: R.MessageError, has: ['fail 2/2 rx'] },
  { desc: 'OpenSent: header error', state: S.OpenSent, event: E.BGPHeaderErr, notify: { code: 1, subcode: 2 }, next: S.Idle, has: ['fail 1/2 rx'] },
  { desc: 'OpenSent: KEEPALIVE is FSM error 1', state: S.OpenSent, event: E.KeepAliveMsg, next: S.Idle, reason: R.FsmError, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: UPDATE is FSM error 1', state: S.OpenSent, event: E.UpdateMsg, next: S.Idle, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: route refresh is FSM error 1', state: S.OpenSent, event: E.RouteRefreshMsg, next: S.Idle, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: keepalive timer is FSM error 1', state: S.OpenSent, event: E.KeepaliveTimerExpires, next: S.Idle, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: update error is FSM error 1', state: S.OpenSent, event: E.UpdateMsgErr, next: S.Idle, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: second incoming TCP is FSM error 1', state: S.OpenSent, event: E.TcpConnectionConfirmed, next: S.Idle, has: ['fail 5/1 rx'] },
  { desc: 'OpenSent: TCP fails', state: S.OpenSent, event: E.TcpConnectionFails, next: S.Idle, reason: R.TcpFailed, has: ['fail socket', 'start idleHold'] },
  { desc: 'OpenSent: NOTIFICATION received', state: S.OpenSent, event: E.NotifMsg, next: S.Idle, reason: R.NotificationReceived, has: ['fail rx'], not: ['sendNotification'] },
  { desc: 'OpenSent: version error NOTIFICATION, no back-off', state: S.OpenSent, event: E.NotifMsgVerErr, next: S.Idle, has: ['drop'], not: ['fail rx'] },
  { desc: 'OpenSent: collision dump', state: S.OpenSent, event: E.OpenCollisionDump, next: S.Idle, reason: R.Collision, has: ['notify 6/7', 'drop'], not: ['fail rx'] },
  { desc: 'OpenSent: stop sends Cease/Admin Shutdown', state: S.OpenSent, event: E.ManualStop, next: S.Idle, has: ['notify 6/2', 'drop'] },
  { desc: 'OpenSent: graceful stop sends nothing', state: S.OpenSent, event: E.ManualStopGraceful, next: S.Idle, reason: R.GracefulStop, has: ['drop'], not: ['notify 6/2'] },
  { desc: 'OpenSent: automatic stop', state: S.OpenSent, event: E.AutomaticStop, notify: { code: 6, subcode: 3 }, next: S.Idle, reason: R.LocalStop, has: ['fail 6/3 admin'] },
  // OpenConfirm
  { desc: 'OpenConfirm: KEEPALIVE → Established', state: S.OpenConfirm, event: E.KeepAliveMsg, next: S.Established, reason: R.KeepaliveReceived, has: ['start hold/negotiated', 'established'] },
  { desc: 'OpenConfirm: keepalive timer sends KEEPALIVE', state: S.OpenConfirm, event: E.KeepaliveTimerExpires, next: S.OpenConfirm, has: ['sendKeepalive', 'start keepalive'] },
  { desc: 'OpenConfirm: hold expiry', state: S.OpenConfirm, event: E.HoldTimerExpires, next: S.Idle, has: ['fail 4/0 rx'] },
  { desc: 'OpenConfirm: OPEN is FSM error 2', state: S.OpenConfirm, event: E.BGPOpen, next: S.Idle, reason: R.FsmError, has: ['fail 5/2 rx'] },
  { desc: 'OpenConfirm: UPDATE is FSM error 2', state: S.OpenConfirm, event: E.UpdateMsg, next: S.Idle, has: ['fail 5/2 rx'] },
  { desc: 'OpenConfirm: route refresh is FSM error 2', state: S.OpenConfirm, event: E.RouteRefreshMsg, next: S.Idle, has: ['fail 5/2 rx'] },
  { desc: 'OpenConfirm: update error is FSM error 2', state: S.OpenConfirm, event: E.UpdateMsgErr, next: S.Idle, has: ['fail 5/2 rx'] },
  { desc: 'OpenConfirm: TCP CR acked is FSM error 2', state: S.OpenConfirm, event: E.TcpCRAcked, next: S.Idle, has: ['fail 5/2 rx'] },
  { desc: 'OpenConfirm: NOTIFICATION', state: S.OpenConfirm, event: E.NotifMsg, next: S.Idle, has: ['fail rx'] },
  { desc: 'OpenConfirm: collision', state: S.OpenConfirm, event: E.OpenCollisionDump, next: S.Idle, has: ['notify 6/7', 'drop'] },
  { desc: 'OpenConfirm: TCP fails', state: S.OpenConfirm, event: E.TcpConnectionFails, next: S.Idle, has: ['fail socket'] },
  { desc: 'OpenConfirm: stop', state: S.OpenConfirm, event: E.ManualStop, next: S.Idle, has: ['stop keepalive', 'notify 6/2', 'drop'] },
  // Established
  { desc: 'Established: KEEPALIVE restarts hold', state: S.Established, event: E.KeepAliveMsg, next: S.Established, has: ['start hold/negotiated'] },
  { desc: 'Established: UPDATE processed', state: S.Established, event: E.UpdateMsg, next: S.Established, has: ['start hold/negotiated', 'processUpdate'] },
  { desc: 'Established: route refresh processed', state: S.Established, event: E.RouteRefreshMsg, next: S.Established, has: ['processRouteRefresh'] },
  { desc: 'Established: keepalive timer', state: S.Established, event: E.KeepaliveTimerExpires, next: S.Established, has: ['sendKeepalive', 'start keepalive'] },
  { desc: 'Established: hold expiry', state: S.Established, event: E.HoldTimerExpires, next: S.Idle, reason: R.HoldTimerExpired, has: ['sessionDown', 'fail 4/0 rx', 'start idleHold'] },
  { desc: 'Established: bad UPDATE', state: S.Established, event: E.UpdateMsgErr, notify: { code: 3, subcode: 1 }, next: S.Idle, has: ['sessionDown', 'fail 3/1 rx'] },
  { desc: 'Established: header error', state: S.Established, event: E.BGPHeaderErr, notify: { code: 1, subcode: 1 }, next: S.Idle, has: ['fail 1/1 rx'] },
  { desc: 'Established: OPEN is FSM error 3', state: S.Established, event: E.BGPOpen, next: S.Idle, reason: R.FsmError, has: ['sessionDown', 'fail 5/3 rx'] },
  { desc: 'Established: open error is FSM error 3', state: S.Established, event: E.BGPOpenMsgErr, next: S.Idle, has: ['fail 5/3 rx'] },
  { desc: 'Established: TCP confirmed is FSM error 3', state: S.Established, event: E.TcpConnectionConfirmed, next: S.Idle, has: ['fail 5/3 rx'] },
  { desc: 'Established: NOTIFICATION', state: S.Established, event: E.NotifMsg, next: S.Idle, reason: R.NotificationReceived, has: ['sessionDown', 'fail rx'] },
  { desc: 'Established: TCP fails', state: S.Established, event: E.TcpConnectionFails, next: S.Idle, has: ['sessionDown', 'fail socket'] },
  { desc: 'Established: max prefixes', state: S.Established, event: E.AutomaticStop, notify: { code: 6, subcode: 1 }, next: S.Idle, has: ['sessionDown', 'fail 6/1 admin', 'start idleHold'] },
  { desc: 'Established: stop', state: S.Established, event: E.ManualStop, next: S.Idle, reason: R.AdminStop, has: ['sessionDown', 'notify 6/2', 'drop'], not: ['start idleHold'] },
  { desc: 'Established: graceful stop, no NOTIFICATION', state: S.Established, event: E.ManualStopGraceful, next: S.Idle, has: ['sessionDown', 'drop'], not: ['notify 6/2', 'fail rx'] },
  { desc: 'Established: collision', state: S.Established, event: E.OpenCollisionDump, next: S.Idle, has: ['sessionDown', 'notify 6/7'] },
  { desc: 'Established: start ignored', state: S.Established, event: E.ManualStart, next: S.Established, reason: R.Ignored, has: [] },
];

for (const r of rows) {
  test(`fsm: ${r.state} + ${r.event}: ${r.desc}`, () => {
    const t = transition({ state: r.state, passive: r.passive ?? false }, r.notify ? { type: r.event, notify: r.notify } : { type: r.event });
    assert.equal(t.next, r.next);
    if (r.reason) assert.equal(t.reason, r.reason);
    const got = t.actions.map(brief);
    let at = -1;
    for (const want of r.has) {
      const i = got.indexOf(want, at + 1);
      assert.ok(i > at, `expected "${want}" after position ${at} in [${got.join(', ')}]`);
      at = i;
    }
    for (const no of r.not ?? []) assert.ok(!got.includes(no), `unexpected "${no}" in [${got.join(', ')}]`);
  });
}

test('fsm: every (state, event) pair gives a defined result; unexpected messages give the RFC 6608 subcode', () => {
  const messages = [E.BGPOpen, E.KeepAliveMsg, E.UpdateMsg, E.RouteRefreshMsg, E.UpdateMsgErr];
  for (const state of Object.values(S)) {
    for (const event of Object.values(E)) {
      const t = transition({ state, passive: false }, { type: event });
      assert.ok(Object.values(S).includes(t.next), `${state}+${event}`);
      // leaving a connected state always drops or fails the connection
      if (t.next === S.Idle && state !== S.Idle) {
        const kinds = t.actions.map((a) => a.type);
        assert.ok(kinds.includes('drop') || kinds.includes('fail'), `${state}+${event} leaves without closing`);
      }
      // a session that goes down always announces it
      if (state === S.Established && t.next !== S.Established) {
        assert.ok(t.actions.some((a) => a.type === 'sessionDown'), `${state}+${event} without sessionDown`);
      }
    }
    for (const m of messages) {
      const t = transition({ state, passive: false }, { type: m });
      const fail = t.actions.find((a) => a.type === 'fail');
      const expectedOk =
        (state === S.OpenSent && m === E.BGPOpen) ||
        (state === S.OpenConfirm && m === E.KeepAliveMsg) ||
        (state === S.Established && m !== E.BGPOpen);
      if (state === S.Idle) assert.equal(fail, undefined);
      else if (expectedOk && m !== E.UpdateMsgErr) assert.equal(fail, undefined, `${state}+${m}`);
      else if (m !== E.UpdateMsgErr || state !== S.Established) {
        assert.ok(fail && fail.type === 'fail' && fail.notify, `${state}+${m} must fail with a NOTIFICATION`);
        assert.deepEqual([fail.notify!.code, fail.notify!.subcode], [5, fsmErrorSubcode(state)]);
      }
    }
  }
});

test('fsm: transition is pure (same input, same output)', () => {
  for (const state of Object.values(S)) {
    for (const event of Object.values(E)) {
      assert.deepEqual(transition({ state, passive: true }, { type: event }), transition({ state, passive: true }, { type: event }));
    }
  }
});

const holdRows: Array<{ local: number; remote: number; ka?: number; want: [number, number] | 'error' }> = [
  { local: 9, remote: 90, want: [9, 3] },
  { local: 90, remote: 9, want: [9, 3] },
  { local: 9, remote: 0, want: [0, 0] },
  { local: 0, remote: 180, want: [0, 0] },
  { local: 180, remote: 180, want: [180, 60] },
  { local: 3, remote: 3, want: [3, 1] },
  { local: 4, remote: 240, want: [4, 1] },
  { local: 9, remote: 9, ka: 1, want: [9, 1] },
  { local: 9, remote: 9, ka: 30, want: [9, 3] },
  { local: 9, remote: 1, want: 'error' },
  { local: 9, remote: 2, want: 'error' },
  { local: 0, remote: 2, want: 'error' },
];
for (const r of holdRows) {
  test(`hold time: local ${r.local} remote ${r.remote}${r.ka ? ` keepalive ${r.ka}` : ''} → ${r.want}`, () => {
    const n = negotiateHoldTime(r.local, r.remote, r.ka);
    if (r.want === 'error') {
      assert.equal(n.ok, false);
      if (!n.ok) assert.deepEqual(n.notify, { code: 2, subcode: 6 });
    } else {
      assert.equal(n.ok, true);
      if (n.ok) assert.deepEqual([n.holdTime, n.keepalive], r.want);
    }
  });
}

test('hold time validity: 0 or 3..65535', () => {
  assert.deepEqual([0, 1, 2, 3, 9, 65535, 65536, 2.5].map(validHoldTime), [true, false, false, true, true, true, false, false]);
});

test('connect-retry back-off doubles from the base up to 60 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 20].map((n) => connectRetryDelayMs(5, n)), [5000, 10000, 20000, 40000, 60000, 60000, 60000]);
  assert.equal(connectRetryDelayMs(120, 3), 120000, 'a base above the ceiling is kept');
});

test('idle-hold doubles after each consecutive error up to 60 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => idleHoldDelayMs(1, n)), [0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
});

test('collision: the higher BGP Identifier keeps the connection it initiated', () => {
  assert.equal(resolveCollision('10.0.0.2', '10.0.0.1'), 'keep-outgoing');
  assert.equal(resolveCollision('10.0.0.1', '10.0.0.2'), 'keep-incoming');
  assert.equal(resolveCollision('200.0.0.1', '10.0.0.2'), 'keep-outgoing', 'compared unsigned');
  assert.equal(resolveCollision('1.0.0.0', '0.255.255.255'), 'keep-outgoing');
});
