// The REST API (fastify): health, readiness, Prometheus metrics and the read-only /v1 views, plus
// drain/undrain. A bearer token guards everything but /healthz and /readyz when one is set, and
// one is required to listen on a non-loopback address. Against other local software and web pages
// (docs/api.md): every request must name a loopback address, `localhost` or the listen address in
// its Host header (a DNS-rebinding page names its own host), and a state-changing request must
// carry `Content-Type: application/json` or `X-Edgelb-Request: 1`, which no page can send to us
// without a CORS preflight that this API never answers; a cross-origin Origin is refused too.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { counterOn } from '../lib/metrics.js';
import { canonicalIp } from '../lib/addr.js';
import { EdgelbError, errorMessage, isEdgelbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { ApiViews } from './views.js';

export interface ApiServerOptions {
  /** "host:port" (IP literal); port 0 lets the kernel choose. */
  listen: string;
  /** Bearer token; required when `listen` is not a loopback address. */
  token?: string;
  registry: Registry;
  views: ApiViews;
  logger: Logger;
}

/** The fastify instance of the API (its logger is our pino Logger). */
export type ApiApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** Routes a kubelet or a load balancer probes without credentials. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** "1.2.3.4:80" or "[::1]:80" → host and port (IP literals only). */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(listen) ?? /^([^:[\]]+):(\d{1,5})$/.exec(listen);
  if (!m || !isIP(m[1]!) || Number(m[2]) > 65535) return undefined;
  return { host: m[1]!, port: Number(m[2]) };
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

/** The host part of a Host (or Origin authority) value: "name", "1.2.3.4", "[v6]", with an
 *  optional port. undefined when it is not one of those shapes. */
export function hostPart(h: string): string | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1]?.toLowerCase();
}

/** Whether a Host names this API: localhost, a loopback address, or the listen address (any IP
 *  address when the API listens on all of them: a rebinding page always sends a name). */
export function hostAllowed(host: string | undefined, listenHost: string): boolean {
  const h = host === undefined ? undefined : hostPart(host);
  if (!h) return false;
  if (h === 'localhost') return true;
  if (!isIP(h)) return false;
  const c = canonicalIp(h);
  const l = canonicalIp(listenHost);
  return isLoopback(c) || c === l || l === '0.0.0.0' || l === '::';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a state-changing request is refused as one a web page could have sent, or undefined. */
export function forgeable(headers: Record<string, string | string[] | undefined>, listenHost: string): string | undefined {
  const origin = headers.origin;
  if (origin !== undefined) {
    const o = /^https?:\/\/([^/]+)$/.exec(String(origin));
    if (!o || !hostAllowed(o[1], listenHost)) return `cross-origin request from ${String(origin)}`;
  }
  const mark = headers['x-edgelb-request'];
  if (mark === '1') return undefined;
  const type = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return undefined;
  return 'a state-changing request needs Content-Type: application/json or X-Edgelb-Request: 1';
}

function requestsRefused(registry: Registry) {
  return counterOn(registry, { name: 'edgelb_api_requests_refused_total', help: 'API requests refused before routing, by reason (host, forgeable)', labelNames: ['reason'] as const });
}

/** Body of every error answer: a stable code and a message. */
export interface ApiErrorBody {
  code: string;
  message: string;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ code, message } satisfies ApiErrorBody);
}

/**
 * Build the API server (not yet listening; tests use `app.inject()`). Throws EdgelbError
 * EDGELB_ERR_INVALID_ARGUMENT for a bad listen address or a non-loopback listen without a token.
 */
export function createApiServer(opts: ApiServerOptions): ApiApp {
  const hp = parseListen(opts.listen);
  if (!hp) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `api listen address must be ip:port, got "${opts.listen}"`);
  if (!isLoopback(hp.host) && !opts.token)
    throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `the API listens on ${opts.listen}, not a loopback address: set api.token`);

  const log = opts.logger.child({ subsystem: 'api' });
  const app = Fastify({
    loggerInstance: log,
    // one debug line per request (onResponse below) instead of fastify's two info lines
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  const requests = counterOn(opts.registry, {
    name: 'edgelb_api_requests_total',
    help: 'API requests answered, by route and HTTP status',
    labelNames: ['route', 'status'] as const,
  });

  const wanted = opts.token ? digest(`Bearer ${opts.token}`) : undefined;
  const refused = requestsRefused(opts.registry);
  app.addHook('onRequest', async (req, reply) => {
    if (!hostAllowed(req.headers.host, hp.host)) {
      refused.inc({ reason: 'host' });
      log.warn({ host: req.headers.host, url: req.url }, 'API request refused: its Host header does not name this API');
      return sendError(reply, 403, 'EDGELB_ERR_API_FORBIDDEN', 'the Host header must be localhost, a loopback address or the listen address');
    }
    if (!SAFE_METHODS.has(req.method)) {
      const why = forgeable(req.headers, hp.host);
      if (why) {
        refused.inc({ reason: 'forgeable' });
        log.warn({ url: req.url, why }, 'API request refused: a web page could have sent it');
        return sendError(reply, 403, 'EDGELB_ERR_API_FORBIDDEN', why);
      }
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!wanted || OPEN_ROUTES.has(req.url.split('?')[0]!)) return;
    const got = digest(String(req.headers.authorization ?? ''));
    if (!timingSafeEqual(got, wanted)) return sendError(reply, 401, 'EDGELB_ERR_API_UNAUTHORIZED', 'missing or wrong bearer token');
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    requests.inc({ route, status: String(reply.statusCode) });
    log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.setErrorHandler((err, _req, reply) => {
    if (isEdgelbError(err)) {
      const status = err.code === 'EDGELB_ERR_INVALID_ARGUMENT' ? 400 : 500;
      log.warn({ code: err.code, err: err.message }, 'request failed');
      return sendError(reply, status, err.code, err.message);
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error({ err: errorMessage(err) }, 'request failed');
    return sendError(reply, status, status >= 500 ? 'EDGELB_ERR_INTERNAL' : 'EDGELB_ERR_INVALID_ARGUMENT', errorMessage(err));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'EDGELB_ERR_INVALID_ARGUMENT', `no route ${req.method} ${req.url}`));

  const v = opts.views;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = v.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(text);
  });
  app.get('/v1/services', async () => v.services());
  app.get('/v1/vips', async () => v.vips());
  app.get('/v1/ha', async () => v.ha());
  app.get('/v1/bgp/neighbors', async () => v.bgpNeighbors());
  app.get('/v1/sync', async (_req, reply) => (v.sync ? v.sync() : sendError(reply, 404, 'EDGELB_ERR_INVALID_ARGUMENT', 'connection sync is off (cluster.sync)')));
  app.get('/v1/bfd', async () => v.bfd());
  app.post('/v1/drain', async () => {
    log.info('drain requested through the API');
    return (await v.drain()) ?? { drained: true };
  });
  app.post('/v1/undrain', async () => {
    log.info('undrain requested through the API');
    return (await v.undrain()) ?? { drained: false };
  });
  return app;
}

export interface ListeningAddress {
  host: string;
  port: number;
  /** Base URL, e.g. http://127.0.0.1:11111 (with the real port when 0 was asked). */
  url: string;
}

/** Start listening on "host:port"; resolves with the real address (port 0 → the kernel's pick). */
export async function listenApi(app: ApiApp, listen: string): Promise<ListeningAddress> {
  const hp = parseListen(listen);
  if (!hp) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `api listen address must be ip:port, got "${listen}"`);
  await app.listen({ host: hp.host, port: hp.port });
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : hp.port;
  return { host: hp.host, port, url: `http://${isIP(hp.host) === 6 ? `[${hp.host}]` : hp.host}:${port}` };
}

export interface MetricsServerOptions {
  /** "host:port" (IP literal), any address: it serves nothing but metrics and liveness. */
  listen: string;
  registry: Registry;
  logger: Logger;
}

/**
 * The metrics-only listener (`api.metricsListen`): GET /metrics and /healthz, nothing else (404), no
 * token, so Prometheus can scrape the node's address while /v1 stays on loopback or behind the
 * token. Throws EdgelbError EDGELB_ERR_INVALID_ARGUMENT for a bad listen address.
 */
export function createMetricsServer(opts: MetricsServerOptions): ApiApp {
  if (!parseListen(opts.listen)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `api metricsListen must be ip:port, got "${opts.listen}"`);
  const app = Fastify({
    loggerInstance: opts.logger.child({ subsystem: 'api', listener: 'metrics' }),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'EDGELB_ERR_INVALID_ARGUMENT', `the metrics listener serves only /metrics and /healthz, not ${req.method} ${req.url}`));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => reply.type(opts.registry.contentType).send(await opts.registry.metrics()));
  return app;
}
