// End-of-RIB markers (RFC 4724 §2): build and recognise them.
import { EdgelbError } from '../../lib/errors.js';
import type { AfiSafi, UpdateMessage } from './types.js';

export function buildEndOfRib(afi: number, safi: number): Buffer {
  void afi; void safi;
  throw new EdgelbError('EDGELB_ERR_INTERNAL', 'buildEndOfRib: not implemented yet');
}

/** The family an UPDATE marks the end of, or undefined if it is not an End-of-RIB. */
export function isEndOfRib(update: UpdateMessage): AfiSafi | undefined {
  void update;
  return undefined;
}
