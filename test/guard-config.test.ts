import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { problemsOf } from './helpers/app.js';

describe('configuration of the operation guard', () => {
  it('should default the limits and leave token verification off', () => {
    const config = loadConfig({});
    expect(config.graphqlLimits).toEqual({
      maxAliases: 30,
      maxDepth: 10,
      maxTokens: 5000,
      maxCost: 5000,
      maxEntities: 1000,
    });
    expect(config.auth).toBeUndefined();
  });

  it('should read every limit and name a bad one', () => {
    const config = loadConfig({
      GRAPHQL_MAX_ALIASES: '5',
      GRAPHQL_MAX_DEPTH: '7',
      GRAPHQL_MAX_TOKENS: '900',
      GRAPHQL_MAX_COST: '1200',
      GRAPHQL_MAX_ENTITIES: '2500',
    });
    expect(config.graphqlLimits).toEqual({
      maxAliases: 5,
      maxDepth: 7,
      maxTokens: 900,
      maxCost: 1200,
      maxEntities: 2500,
    });
    const problems = problemsOf({ GRAPHQL_MAX_ALIASES: 'many', GRAPHQL_MAX_DEPTH: '0' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^GRAPHQL_MAX_ALIASES must be a whole number/);
    expect(problems[1]).toMatch(/^GRAPHQL_MAX_DEPTH must be a whole number from 1/);
  });

  it('should need the issuer and audience with AUTH_JWKS_URL, and the URL with them', () => {
    expect(problemsOf({ AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' })).toEqual([
      expect.stringMatching(/AUTH_JWKS_URL is set, so AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/),
    ]);
    expect(problemsOf({ AUTH_JWT_ISSUER: 'https://idp.example.com/' })).toEqual([
      expect.stringMatching(/only take effect with AUTH_JWKS_URL/),
    ]);
    expect(problemsOf({ AUTH_JWKS_URL: 'ftp://keys' })[0]).toMatch(/^AUTH_JWKS_URL must be/);
    const config = loadConfig({
      AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      AUTH_JWT_ISSUER: 'https://idp.example.com/',
      AUTH_JWT_AUDIENCE: 'payments',
    });
    expect(config.auth).toEqual({
      jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      issuer: 'https://idp.example.com/',
      audience: 'payments',
      jwksCooldownMs: 30_000,
      jwksCacheMaxAgeMs: 600_000,
    });
  });
});
