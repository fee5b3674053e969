// A lab backend: HTTP on :8080 answering "<name> <client address>", UDP echo on :5353 answering
// "<name> <client address> <payload>", and a TCP line echo on :9000 (long-lived connections).
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';

const name = process.argv[2] ?? 'backend';
const strip = (a: string | undefined) => (a ?? '').replace(/^::ffff:/, '');

const keepAlive = process.env.KEEPALIVE === '1';
createServer((req, res) => {
  if (!keepAlive) res.setHeader('connection', 'close');
  res.end(`${name} ${strip(req.socket.remoteAddress)}\n`);
}).listen(8080, '::');

for (const type of ['udp4', 'udp6'] as const) {
  const s = createSocket({ type, ipv6Only: type === 'udp6' });
  s.on('message', (msg, rinfo) => s.send(`${name} ${strip(rinfo.address)} ${msg.toString()}`, rinfo.port, rinfo.address));
  s.bind(5353, type === 'udp4' ? '0.0.0.0' : '::');
}

createTcpServer((sock) => {
  sock.on('data', (d) => sock.write(d));
  sock.on('error', () => undefined);
}).listen(9000, '::');

process.stdout.write(`LISTENING ${name}\n`);
