// Public face of the config module: load/parse/validate the YAML file, watch it, and helpers.
export { loadConfig, parseConfig, type LoadOptions, type LoadedConfig } from './load.js';
export { validateConfig, type ValidateOptions } from './validate.js';
export { ConfigSource, type ConfigSourceOptions, type ConfigSourceEvents, type ReloadInfo } from './watch.js';
export { defaultShard, fnv1a32 } from './hash.js';
export { parseHostPort, formatHostPort, type HostPort } from './fields.js';
export { formatPath } from './issues.js';
export { poolBlocks, blockContains, firstFree } from './allocate.js';
