// Public face of the API module: the fastify server factory and the views it serves.
export { createApiServer, listenApi, parseListen, type ApiApp, type ApiServerOptions, type ApiErrorBody, type ListeningAddress } from './server.js';
export { desiredStateViews, type ApiViews, type ServiceRow, type VipRow, type HaRow, type NeighborRow, type BfdRow, type Readiness, type DrainResult } from './views.js';
