// Diagnostic preload for the BGP sender (bench/bgp-transfer-trace.ts, never in a measured run):
// `node --import ./bench/lib/bgp-trace-preload.mjs …` writes one line per BGP socket event to
// stderr with wall-clock µs: "TRACE <µs> <event> <bytes>" (write, data, drain, connection), and
// "TRACE <µs> start 0" for the process start (performance.timeOrigin).
import net from 'node:net';
import { writeSync } from 'node:fs';

const us = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const out = (ev, n) => writeSync(2, `TRACE ${us()} ${ev} ${n}\n`);
writeSync(2, `TRACE ${Math.round(performance.timeOrigin * 1000)} start 0\n`);
const isBgp = (s) => s.localPort === 179 || s.remotePort === 179;
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (chunk, ...rest) {
  if (isBgp(this)) out('write', chunk.length);
  const r = write.call(this, chunk, ...rest);
  if (isBgp(this)) out('written', this.writableLength);
  return r;
};
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (ev, ...args) {
  if ((ev === 'data' || ev === 'drain') && isBgp(this)) out(ev, ev === 'data' ? args[0].length : this.writableLength);
  return emit.call(this, ev, ...args);
};
const srvEmit = net.Server.prototype.emit;
net.Server.prototype.emit = function (ev, ...args) {
  if (ev === 'connection') out('accept', 0);
  if (ev === 'listening') out('listening', 0);
  return srvEmit.call(this, ev, ...args);
};
