import js from '@eslint/js';
import graphqlPlugin from '@graphql-eslint/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test/generated/'] },
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
  },
  // The generated schema under graphql-eslint's schema-recommended rules; docs/schema-tooling.md
  // says why each adjusted rule is adjusted.
  {
    files: ['schema.graphql'],
    languageOptions: {
      parser: graphqlPlugin.parser,
      parserOptions: { graphQLConfig: { schema: 'schema.graphql' } },
    },
    plugins: { '@graphql-eslint': graphqlPlugin },
    rules: {
      ...graphqlPlugin.configs['flat/schema-recommended'].rules,
      '@graphql-eslint/naming-convention': [
        'error',
        {
          ...graphqlPlugin.configs['flat/schema-recommended'].rules[
            '@graphql-eslint/naming-convention'
          ][1],
          // Federation's and @link's own scalars and enum are named by their specifications.
          types: { style: 'PascalCase', ignorePattern: '^(federation|link)__' },
        },
      ],
      '@graphql-eslint/strict-id-in-types': [
        'error',
        {
          // Entities are keyed by the upstream's id: a batch's id, a purchase's purchaseId; a
          // change's eventId.
          acceptedIdNames: ['id', 'purchaseId', 'eventId'],
          acceptedIdTypes: ['ID'],
          // Values with no identity of their own, and the page wrappers around entities.
          exceptions: {
            types: [
              'Money',
              'CollectSummary',
              'CustomerPayment',
              'UserError',
              'PageInfo',
              'PurchaseOfferDefaults',
            ],
            suffixes: ['Connection', 'Edge', 'Payload'],
          },
        },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts}'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Only src/config.ts reads the environment.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through src/config.ts.',
        },
      ],
    },
  },
  {
    // Promise discipline, which needs the type checker: every promise is awaited, returned or
    // explicitly `void`ed with a comment saying where its rejection goes; no promise where a
    // callback's result is ignored (an Express handler, an event listener); no `await` of a
    // value that is not a promise. The type information comes from tsconfig.json, which covers
    // every file linted here.
    files: ['src/**/*.ts', 'resolvers/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      'require-await': 'off',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
  {
    // Sizes a reader takes in at once: a function of about one screen, a file of one subject.
    // Every line counts, comments and blank lines too, so the limit is what `wc -l` shows.
    files: ['src/**/*.ts', 'resolvers/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false }],
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
    },
  },
  {
    files: ['src/config.ts', 'test/**', 'bench/**', '.ci/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The REST clients and the simulators know nothing of GraphQL.
    files: ['src/**'],
    // The composition root (app.ts, compose/) wires the graph to the services.
    ignores: ['src/http/**', 'src/main.ts', 'src/app.ts', 'src/compose/**', 'src/tools/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['graphql', 'type-graphql', '@apollo/*', '**/resolvers/**'],
              message: 'src/ services know nothing of GraphQL.',
            },
          ],
        },
      ],
    },
  },
);
