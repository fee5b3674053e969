// Endpoint health probes: the checker, the probers and their types.
export { HealthChecker, type HealthCheckerOptions } from './checker.js';
export { defaultProbers } from './probes.js';
export { probeTcp } from './probe-tcp.js';
export { probeUdp, DEFAULT_UDP_REQUEST } from './probe-udp.js';
export { probeHttp } from './probe-http.js';
export { Pinger, echoRequest, parseEchoReply } from './probe-ping.js';
export type { EndpointHealth, HealthState, HealthTarget, ProbeFailure, ProbeOutcome, ProbeRequest, Prober, Probers } from './types.js';
