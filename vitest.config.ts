import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql 16 ships CommonJS (index.js) and ESM (index.mjs) side by side without an
  // "exports" map. Node — and so type-graphql and Apollo, which vitest leaves external — loads
  // index.js; vite would hand our own files index.mjs. Two copies of graphql break every
  // `instanceof GraphQLScalarType` check ("Cannot determine GraphQL output type"), so our
  // files get the copy Node loads.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on ephemeral ports; files run in parallel forks.
    pool: 'forks',
  },
});
