// End-of-RIB markers (RFC 4724 §2): build and recognise them.
import { Afi, DEFAULT_CONTEXT, Safi } from './constants.js';
import { encodeMessage } from './message.js';
import type { AfiSafi, UpdateMessage } from './types.js';

/** IPv4 unicast: an empty UPDATE; any other family: an UPDATE with only an empty MP_UNREACH_NLRI. */
export function buildEndOfRib(afi: number, safi: number): Buffer {
  const attributes = afi === Afi.IPV4 && safi === Safi.UNICAST ? {} : { mpUnreach: { afi, safi, withdrawn: [] } };
  return encodeMessage({ type: 'update', withdrawn: [], attributes, nlri: [] }, DEFAULT_CONTEXT);
}

/** The family an UPDATE marks the end of, or undefined if it is not an End-of-RIB. */
export function isEndOfRib(u: UpdateMessage): AfiSafi | undefined {
  if (u.treatAsWithdraw || u.withdrawn.length > 0 || u.nlri.length > 0) return undefined;
  const keys = Object.keys(u.attributes).filter((k) => u.attributes[k as keyof typeof u.attributes] !== undefined);
  if (keys.length === 0) return { afi: Afi.IPV4, safi: Safi.UNICAST };
  const m = u.attributes.mpUnreach;
  if (keys.length === 1 && m && m.withdrawn.length === 0) return { afi: m.afi, safi: m.safi };
  return undefined;
}
