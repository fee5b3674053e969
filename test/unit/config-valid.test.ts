// Config validation, valid files: every row of config-valid-rows.ts gives the DesiredState with
// every default filled and exactly the expected warnings.
import { testRows } from './config-fixtures.js';
import { VALID_ROWS } from './config-valid-rows.js';

testRows(VALID_ROWS);
