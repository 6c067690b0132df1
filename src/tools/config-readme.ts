import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readmeWithConfigTable } from './config-table.js';

/**
 * `npm run config:readme` rewrites the README's configuration table from the configuration
 * table (src/config/variables.ts); with --check it only fails when the README's table is stale
 * (test/config-table.test.ts checks the same in `npm test`).
 */
const FILE = fileURLToPath(new URL('../../../README.md', import.meta.url));

const readme = await readFile(FILE, 'utf8');
const generated = await readmeWithConfigTable(readme, FILE);
if (process.argv[2] === '--check') {
  if (generated !== readme) {
    process.stderr.write(
      "README.md's configuration table is stale: run `npm run config:readme` and commit it.\n",
    );
    process.exit(1);
  }
  process.stdout.write("README.md's configuration table is up to date\n");
} else if (generated === readme) {
  process.stdout.write("README.md's configuration table is up to date\n");
} else {
  await writeFile(FILE, generated);
  process.stdout.write("README.md's configuration table written\n");
}
