// Errors with stable codes. Every error edgelb raises on purpose is an EdgelbError whose `code`
// is one of ERROR_CODES: codes are permanent (never renamed or reused) and documented in
// docs/errors.md (a unit test checks that every code is documented there).

export const ERROR_CODES = {
  EDGELB_ERR_CONFIG_INVALID: 'the configuration failed validation (see `issues` for each path)',
  EDGELB_ERR_CONFIG_READ: 'the configuration file could not be read or parsed as YAML',
  EDGELB_ERR_API_UNREACHABLE: 'no edgelb daemon answered at the API address',
  EDGELB_ERR_API_RESPONSE: 'the daemon API answered with an error status or an unreadable body',
  EDGELB_ERR_API_UNAUTHORIZED: 'the API refused the request: missing or wrong bearer token',
  EDGELB_ERR_NATIVE_LOAD: 'the native addon could not be loaded',
  EDGELB_ERR_NATIVE_CALL: 'a call into the native addon failed (errno in `cause`)',
  EDGELB_ERR_BPF_LOAD: 'a BPF object could not be opened, loaded or attached',
  EDGELB_ERR_BPF_MAP: 'a BPF map operation failed',
  EDGELB_ERR_BGP_DECODE: 'a BGP message could not be decoded (carries the NOTIFICATION to send)',
  EDGELB_ERR_BGP_SESSION: 'a BGP session failed',
  EDGELB_ERR_L2_DECODE: 'an ARP or NDP packet could not be decoded',
  EDGELB_ERR_CLUSTER: 'cluster membership could not start or was misconfigured',
  EDGELB_ERR_K8S: 'a Kubernetes API operation failed',
  EDGELB_ERR_IPAM: 'an address could not be allocated for a service',
  EDGELB_ERR_LAB: 'a lab topology operation failed',
  EDGELB_ERR_INVALID_ARGUMENT: 'a function or command was called with an invalid argument',
  EDGELB_ERR_INTERNAL: 'an invariant was broken: a bug in edgelb',
  EDGELB_ERR_APPLY_PARTIAL: 'a desired state was applied by some engines only; the others lag and are retried',
  EDGELB_ERR_API_FORBIDDEN: 'the API refused a request by its Host header or as one a browser could forge',
  EDGELB_ERR_MIGRATE_INPUT: 'a file given to `edgelb migrate` could not be read, is too large, or is not YAML',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class EdgelbError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgelbError';
    this.code = code;
  }
}

/** One validation problem: a dotted path into the input (`bgp.peers[1].asn`) and what is wrong. */
export interface Issue {
  path: string;
  message: string;
}

export class ConfigError extends EdgelbError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], source = 'config') {
    super(
      'EDGELB_ERR_CONFIG_INVALID',
      `${source} is invalid (${issues.length} error${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export class NativeError extends EdgelbError {
  readonly errno: number | undefined;
  constructor(message: string, errno?: number, options?: { cause?: unknown }) {
    super('EDGELB_ERR_NATIVE_CALL', message, options);
    this.name = 'NativeError';
    this.errno = errno;
  }
}

export function isEdgelbError(e: unknown): e is EdgelbError {
  return e instanceof EdgelbError;
}

/** The message of anything thrown, for logs. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
