// Prints the README's configuration table from the config schema:
//   npm run -s docs:config
// A test compares it with README.md, so the table cannot drift from the code.
import { renderConfigTable } from '../src/config-table.js';

process.stdout.write(`${renderConfigTable()}\n`);
