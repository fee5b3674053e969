// BgpDecodeError: a decode failure carrying the NOTIFICATION to send and its RFC 7606 handling.
import { EdgelbError } from '../../lib/errors.js';
import { ERROR_CODE_NAMES, SUBCODE_NAMES } from './constants.js';
import type { Handling, NotificationMessage } from './types.js';

const SEVERITY: Record<Handling, number> = { 'attribute-discard': 0, 'treat-as-withdraw': 1, 'session-reset': 2 };

/** The stronger of two handlings (RFC 7606 order: attribute-discard < treat-as-withdraw < session-reset). */
export function strongerHandling(a: Handling, b: Handling): Handling {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** "update-message/malformed-as-path" style name of a NOTIFICATION code and subcode. */
export function errorName(code: number, subcode: number): string {
  const c = ERROR_CODE_NAMES.get(code) ?? `code${code}`;
  const s = SUBCODE_NAMES.get(code)?.get(subcode) ?? `subcode${subcode}`;
  return `${c}/${s}`;
}

export class BgpDecodeError extends EdgelbError {
  /**
   * NOTIFICATION error code (1 header, 2 OPEN, 3 UPDATE, 7 ROUTE-REFRESH). Not `code`: that is the
   * EdgelbError code, always EDGELB_ERR_BGP_DECODE.
   */
  readonly bgpCode: number;
  readonly subcode: number;
  readonly data: Buffer;
  readonly handling: Handling;
  /** Path attribute type code the error is about, when there is one. */
  readonly attrType: number | undefined;

  constructor(code: number, subcode: number, data: Buffer | Uint8Array = Buffer.alloc(0), handling: Handling = 'session-reset', detail?: string, attrType?: number) {
    super('EDGELB_ERR_BGP_DECODE', `BGP decode error ${errorName(code, subcode)} (${handling})${detail ? `: ${detail}` : ''}`);
    this.name = 'BgpDecodeError';
    this.bgpCode = code;
    this.subcode = subcode;
    this.data = Buffer.from(data);
    this.handling = handling;
    this.attrType = attrType;
  }

  /** The NOTIFICATION a session sends for this error. */
  toNotification(): NotificationMessage {
    return { type: 'notification', code: this.bgpCode, subcode: this.subcode, data: Buffer.from(this.data) };
  }

  /** This error with another handling. */
  withHandling(handling: Handling): BgpDecodeError {
    return new BgpDecodeError(this.bgpCode, this.subcode, this.data, handling, this.message.replace(/^[^:]*: ?/, ''), this.attrType);
  }
}
