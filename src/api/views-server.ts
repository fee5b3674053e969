// The read-only views listener (`api.viewsListen`): GET /v1/services, /v1/vips, /v1/ha,
// /v1/bgp/neighbors, /v1/bfd and /healthz, nothing else (no drain, no metrics, no readiness), no token, so
// `edgelb get … --all-nodes` can reach every node through the Kubernetes API server's pods/proxy
// (the API server authorises the user; it does not pass a bearer token on). What it shows is what
// the metrics listener already tells (VIPs, peers) plus service names and endpoint addresses;
// never a password. A Host that is a name (what a DNS-rebinding page sends) is refused.
import Fastify, { LogController, type FastifyReply } from 'fastify';
import { EdgelbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { hostAllowed, parseListen, type ApiApp, type ApiErrorBody } from './server.js';
import type { ApiViews } from './views.js';

export interface ViewsServerOptions {
  /** "host:port" (IP literal), any address. */
  listen: string;
  views: Pick<ApiViews, 'services' | 'vips' | 'ha' | 'bgpNeighbors' | 'bfd'>;
  logger: Logger;
}

/** The routes this listener serves (the read-only half of /v1). */
export const VIEW_ROUTES = ['/v1/services', '/v1/vips', '/v1/ha', '/v1/bgp/neighbors', '/v1/bfd'] as const;

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ code, message } satisfies ApiErrorBody);
}

/** Build the views listener (not yet listening). Throws EDGELB_ERR_INVALID_ARGUMENT for a bad address. */
export function createViewsServer(opts: ViewsServerOptions): ApiApp {
  const hp = parseListen(opts.listen);
  if (!hp) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `api viewsListen must be ip:port, got "${opts.listen}"`);
  const log = opts.logger.child({ subsystem: 'api', listener: 'views' });
  const app = Fastify({ loggerInstance: log, logController: new LogController({ disableRequestLogging: true }), forceCloseConnections: true });
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(reply, 405, 'EDGELB_ERR_API_FORBIDDEN', `the views listener is read-only (${req.method} refused)`);
    if (!hostAllowed(req.headers.host, hp.host)) {
      log.warn({ host: req.headers.host, url: req.url }, 'views request refused: its Host header does not name this API');
      return sendError(reply, 403, 'EDGELB_ERR_API_FORBIDDEN', 'the Host header must be an IP address or localhost');
    }
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'EDGELB_ERR_INVALID_ARGUMENT', `the views listener serves only /healthz and ${VIEW_ROUTES.join(', ')}, not ${req.method} ${req.url}`));
  const v = opts.views;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/v1/services', async () => v.services());
  app.get('/v1/vips', async () => v.vips());
  app.get('/v1/ha', async () => v.ha());
  app.get('/v1/bgp/neighbors', async () => v.bgpNeighbors());
  app.get('/v1/bfd', async () => v.bfd());
  return app;
}
