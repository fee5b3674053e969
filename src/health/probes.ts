// The probers by probe type, ready for the checker (ping shares one Pinger per checker).
import type { NativeBinding } from '../native/binding.js';
import { probeHttp } from './probe-http.js';
import { Pinger } from './probe-ping.js';
import { probeTcp } from './probe-tcp.js';
import { probeUdp } from './probe-udp.js';
import type { Probers } from './types.js';

export function defaultProbers(native: () => NativeBinding): { probers: Probers; close: () => void } {
  const pinger = new Pinger(native);
  return {
    probers: {
      tcp: probeTcp,
      udp: probeUdp,
      http: (r) => probeHttp(r, false),
      https: (r) => probeHttp(r, true),
      ping: (r) => pinger.probe(r),
    },
    close: () => pinger.close(),
  };
}
