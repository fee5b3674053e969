// Lab backend: a small HTTP server that answers every request with its own name, on several
// ports (8080 for the NAT modes, 80 for DSR where the VIP sits on the backend's loopback), and a
// UDP echo server that prefixes its name. Used by `edgelb lab demo` and the lab tests.
//   node backend-server.js NAME PORT[,PORT…] [UDPPORT]
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';

const [name = 'backend', portList = '8080', udpPort] = process.argv.slice(2);
const body = `${name}\n`;
for (const port of portList.split(',').map(Number)) {
  const srv = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': name });
    res.end(body);
  });
  srv.keepAliveTimeout = 600_000;
  srv.headersTimeout = 0;
  srv.requestTimeout = 0;
  srv.listen({ port, host: '::', ipv6Only: false }, () => process.stdout.write(`${name} listening on ${port}\n`));
}
if (udpPort) {
  for (const type of ['udp4', 'udp6'] as const) {
    const s = createSocket({ type, ipv6Only: type === 'udp6' });
    s.on('message', (msg, rinfo) => s.send(Buffer.concat([Buffer.from(`${name}:`), msg]), rinfo.port, rinfo.address));
    s.bind(Number(udpPort));
  }
}
process.on('SIGTERM', () => process.exit(0));
