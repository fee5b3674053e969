// HTTP and HTTPS probes: GET `path` (POST when `request` gives a body) on a fresh connection;
// healthy on a 2xx/3xx status whose body contains `response` when one is expected. HTTPS does not
// verify the backend's certificate (backends commonly serve self-signed ones; this checks health,
// not identity).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { fail, failureOfErrno, ok, type ProbeOutcome, type ProbeRequest } from './types.js';

const MAX_BODY = 64 * 1024;

export function probeHttp(req: ProbeRequest, tls: boolean): Promise<ProbeOutcome> {
  const start = performance.now();
  const { spec } = req;
  const port = req.port ?? (tls ? 443 : 80);
  return new Promise((resolve) => {
    let done = false;
    const hostHeader = net.isIPv6(req.address) ? `[${req.address}]:${port}` : `${req.address}:${port}`;
    const options: https.RequestOptions = {
      host: req.address,
      port,
      path: spec.path ?? '/',
      method: spec.request === undefined ? 'GET' : 'POST',
      agent: false,
      headers: { host: hostHeader, 'user-agent': 'edgelb-health/1', connection: 'close' },
      rejectUnauthorized: false,
    };
    const r = (tls ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
        if (spec.response !== undefined && body.includes(spec.response) && status >= 200 && status < 400) finish(ok(start));
      });
      res.on('end', () => {
        if (status < 200 || status >= 400) return finish(fail(start, 'status', `HTTP ${status}`));
        if (spec.response !== undefined && !body.includes(spec.response)) {
          return finish(fail(start, 'mismatch', `HTTP ${status}, body ${JSON.stringify(body.slice(0, 80))}`));
        }
        finish(ok(start));
      });
      res.on('error', (e: NodeJS.ErrnoException) => finish(fail(start, failureOfErrno(e.code), e.code ?? e.message)));
    });
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      r.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish(fail(start, 'timeout')), spec.timeoutMs);
    r.on('error', (e: NodeJS.ErrnoException) => finish(fail(start, failureOfErrno(e.code), e.code ?? e.message)));
    if (spec.request !== undefined) r.end(spec.request);
    else r.end();
  });
}
