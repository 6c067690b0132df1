import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { buildSubgraphSdl } from '../../resolvers/schema.js';

/**
 * `npm run schema` (--write) regenerates schema.graphql from the code;
 * `npm run schema:check` (--check) fails when the committed file is stale.
 */
const FILE = new URL('../../../schema.graphql', import.meta.url);
const HEADER = '# Generated from resolvers/ by `npm run schema`. Do not edit by hand.\n\n';

const mode = process.argv[2];
const sdl = HEADER + (await buildSubgraphSdl());
if (mode === '--write') {
  await writeFile(FILE, sdl);
  process.stdout.write('schema.graphql written\n');
} else if (mode === '--check') {
  const committed = await readFile(FILE, 'utf8').catch(() => '');
  if (committed !== sdl) {
    process.stderr.write('schema.graphql is stale: run `npm run schema` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('schema.graphql is up to date\n');
} else {
  process.stdout.write(sdl);
}
