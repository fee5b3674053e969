// UDP probe: send `request` (default "edgelb-probe") to the endpoint on a connected socket.
// With `response`: healthy only when a reply containing it arrives within the timeout.
// Without: an ICMP port unreachable (or any reply) decides at once; silence until the timeout
// counts as healthy, because many UDP services never answer an unknown payload (as loxilb and
// keepalived treat UDP checks). A dead host still fails when the kernel reports it unreachable.
import dgram from 'node:dgram';
import net from 'node:net';
import { fail, failureOfErrno, ok, type ProbeOutcome, type ProbeRequest } from './types.js';

export const DEFAULT_UDP_REQUEST = 'edgelb-probe';

export function probeUdp(req: ProbeRequest): Promise<ProbeOutcome> {
  const start = performance.now();
  const { spec } = req;
  if (req.port === undefined) return Promise.resolve(fail(start, 'error', 'no port to probe'));
  const port = req.port;
  return new Promise((resolve) => {
    let done = false;
    const sock = dgram.createSocket(net.isIPv6(req.address) ? 'udp6' : 'udp4');
    const finish = (r: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const timer = setTimeout(() => {
      finish(spec.response === undefined ? ok(start) : fail(start, 'timeout'));
    }, spec.timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => finish(fail(start, failureOfErrno(e.code), e.code ?? e.message)));
    sock.on('message', (msg: Buffer) => {
      if (spec.response === undefined || msg.toString('latin1').includes(spec.response)) finish(ok(start));
      else finish(fail(start, 'mismatch', `received ${JSON.stringify(msg.toString('latin1').slice(0, 80))}`));
    });
    sock.connect(port, req.address, () => {
      sock.send(Buffer.from(spec.request ?? DEFAULT_UDP_REQUEST), (e) => {
        if (e) finish(fail(start, failureOfErrno((e as NodeJS.ErrnoException).code), e.message));
      });
    });
  });
}
