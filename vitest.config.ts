import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Tiers, as vitest projects. `npm test` runs all three; `npm run test:unit` the first alone.
 * - unit: no servers, no child processes, no real stores — pure modules, in seconds.
 * - slow: whole processes and whole documents (the bench smoke test, the README and docs
 *   replay, process deaths and restarts, start-up refusals).
 * - integration: everything else — real HTTP and WebSocket against servers on ephemeral ports.
 */
const UNIT = [
  'test/commit-lane.test.ts',
  'test/config.test.ts',
  'test/compare-cursors.test.ts',
  'test/config-table.test.ts',
  'test/dates.test.ts',
  'test/event-limits.test.ts',
  'test/reads-of-one-turn.test.ts',
  'test/guard-config.test.ts',
  'test/key-serializer.test.ts',
  'test/logger-redaction.test.ts',
  'test/operation-limits-legit.test.ts',
  'test/pbg-parse.test.ts',
  'test/settle-all.test.ts',
  'test/single-flight.test.ts',
];
const SLOW = [
  'test/bench.test.ts',
  'test/readme.test.ts',
  'test/money-safety-process.test.ts',
  'test/money-safety-journal.test.ts',
  'test/store-durability.test.ts',
  'test/shutdown.test.ts',
  'test/sqlite-lock-service.test.ts',
  'test/npm-start.test.ts',
  'test/store-postgres.test.ts',
  'test/scale-out-postgres.test.ts',
  'test/load-balancer-postgres.test.ts',
];

export default defineConfig({
  // graphql 16 ships CommonJS (index.js) and ESM (index.mjs) side by side without an
  // "exports" map. Node — and so type-graphql and Apollo, which vitest leaves external — loads
  // index.js; vite would hand our own files index.mjs. Two copies of graphql break every
  // `instanceof GraphQLScalarType` check ("Cannot determine GraphQL output type"), so our
  // files get the copy Node loads.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on ephemeral ports; files run in parallel forks.
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...SLOW] },
      },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
