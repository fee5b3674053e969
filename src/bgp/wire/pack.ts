// packUpdates: many prefixes sharing the same attributes into as few UPDATEs as fit the negotiated size.
import { EdgelbError } from '../../lib/errors.js';
import type { CodecContext, PathAttributes } from './types.js';

export function packUpdates(attrs: PathAttributes, nlri: string[], withdrawn: string[], ctx: CodecContext, family: 4 | 6): Buffer[] {
  void attrs; void nlri; void withdrawn; void ctx; void family;
  throw new EdgelbError('EDGELB_ERR_INTERNAL', 'packUpdates: not implemented yet');
}
