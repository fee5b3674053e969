// TCP probe: connect within the timeout; with `request`, send it; with `response`, wait until the
// reply contains it. A connection with neither is healthy as soon as it is established.
import net from 'node:net';
import { fail, failureOfErrno, ok, type ProbeOutcome, type ProbeRequest } from './types.js';

const MAX_REPLY = 64 * 1024;

export function probeTcp(req: ProbeRequest): Promise<ProbeOutcome> {
  const start = performance.now();
  const { spec } = req;
  const port = req.port;
  if (port === undefined) return Promise.resolve(fail(start, 'error', 'no port to probe'));
  return new Promise((resolve) => {
    let done = false;
    let reply = '';
    const sock = net.connect({ host: req.address, port });
    const finish = (r: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish(fail(start, 'timeout', reply ? `received ${JSON.stringify(reply.slice(0, 80))}` : undefined)),
      spec.timeoutMs,
    );
    sock.on('error', (e: NodeJS.ErrnoException) => finish(fail(start, failureOfErrno(e.code), e.code ?? e.message)));
    sock.on('connect', () => {
      if (spec.request !== undefined) sock.write(spec.request);
      if (spec.response === undefined) finish(ok(start));
    });
    sock.on('data', (d: Buffer) => {
      if (reply.length < MAX_REPLY) reply += d.toString('latin1');
      if (spec.response !== undefined && reply.includes(spec.response)) finish(ok(start));
    });
    sock.on('end', () => finish(fail(start, 'closed', `received ${JSON.stringify(reply.slice(0, 80))}`)));
  });
}
