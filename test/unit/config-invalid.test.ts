// Config validation, invalid files: every row of config-invalid-rows.ts is rejected whole with a
// ConfigError that reports exactly the expected paths (no more, no fewer) in the DESIGN format.
import { testRows } from './config-fixtures.js';
import { INVALID_ROWS } from './config-invalid-rows.js';

testRows(INVALID_ROWS);
