import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { problemsOf } from './helpers/app.js';

describe('configuration', () => {
  it('should default to the sandbox, sqlite under data/ and port 4000', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.storeUrl).toBe('sqlite:data/payments.db');
    expect(config.chillr.baseUrl).toBeUndefined();
    expect(config.pbg.baseUrl).toBeUndefined();
    expect(config.upstreamTimeoutMs).toBe(10_000);
    expect(config.logLevel).toBe('info');
  });

  it('should name each bad variable and the fix, all at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      UPSTREAM_TIMEOUT_MS: '-1',
      LOG_LEVEL: 'loud',
      STORE_URL: 'mysql://x',
    });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^PORT must be a whole number from 0 to 65535; got "eighty"/);
    expect(problems.join('\n')).toMatch(/UPSTREAM_TIMEOUT_MS/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL must be one of fatal, error/);
    expect(problems.join('\n')).toMatch(/STORE_URL must be memory:\/\/, sqlite:<path>/);
  });

  it('should require credentials with a real Chillr URL and never quote them', () => {
    const problems = problemsOf({ CHILLR_BASE_URL: 'https://onlineapi.chillr.in' });
    expect(problems).toEqual([
      'CHILLR_API_KEY is required when CHILLR_BASE_URL is set (it is the upstream credential).',
      'CHILLR_API_SECRET_KEY is required when CHILLR_BASE_URL is set (it is the upstream credential).',
    ]);
    const ok = loadConfig({
      CHILLR_BASE_URL: 'https://onlineapi.chillr.in/',
      CHILLR_API_KEY: 'k',
      CHILLR_API_SECRET_KEY: 's',
    });
    expect(ok.chillr.baseUrl).toBe('https://onlineapi.chillr.in');
  });

  it('should refuse a non-http upstream URL and a password in STORE_URL messages', () => {
    expect(problemsOf({ CHILLR_BASE_URL: 'ftp://x' })[0]).toMatch(
      /CHILLR_BASE_URL must be an absolute http\(s\) URL/,
    );
    const problems = problemsOf({ REDIS_URL: 'http://user:hunter2@host' });
    expect(problems[0]).toMatch(/REDIS_URL must be a redis:\/\//);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('should keep the change log 7 days and reconcile every minute unless told otherwise', () => {
    const defaults = loadConfig({});
    expect(defaults.pbg.changeLogTtlMs).toBe(7 * 86_400_000);
    expect(defaults.pbg.reconcileIntervalMs).toBe(60_000);
    const off = loadConfig({ PBG_RECONCILE_INTERVAL_MS: '0', PBG_CHANGE_LOG_TTL_MS: '3600000' });
    expect(off.pbg.reconcileIntervalMs).toBe(0);
    expect(off.pbg.changeLogTtlMs).toBe(3_600_000);
    const problems = problemsOf({ PBG_CHANGE_LOG_TTL_MS: '5', PBG_RECONCILE_INTERVAL_MS: 'often' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^PBG_CHANGE_LOG_TTL_MS must be a whole number from 60000/);
    expect(problems[1]).toMatch(/^PBG_RECONCILE_INTERVAL_MS must be a whole number from 0/);
  });

  it('should default the slow-client timeouts and callback limits, and refuse headers slower than the request', () => {
    const config = loadConfig({});
    expect(config.httpTimeouts).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 10_000,
    });
    expect(config.subscriptionCallbackEnabled).toBe(true);
    expect(config.subscriptionCallbackMax).toBe(1000);
    expect(config.graphqlLimits.maxEntities).toBe(1000);
    expect(
      problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }),
    ).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS (20000) must not exceed HTTP_REQUEST_TIMEOUT_MS (10000): the headers are part of the request.',
    ]);
    expect(problemsOf({ SUBSCRIPTION_CALLBACK_MAX: '0' })[0]).toMatch(
      /^SUBSCRIPTION_CALLBACK_MAX must be a whole number from 1/,
    );
    expect(problemsOf({ GRAPHQL_MAX_ENTITIES: 'lots' })[0]).toMatch(
      /^GRAPHQL_MAX_ENTITIES must be/,
    );
  });

  it('should refuse the sandbox in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toMatch(
      /NODE_ENV=production needs CHILLR_BASE_URL and PBG_BASE_URL/,
    );
  });
});
