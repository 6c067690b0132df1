import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { startApp, type AppOptions, type RunningApp } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { credentialsOf, Redactor } from '../../src/redact.js';
import { startChillrSimulator, type ChillrSimulator } from '../../src/sandbox/chillr/index.js';
import { startPbgSimulator, type PbgSimulator } from '../../src/sandbox/pbg/index.js';

/** Credentials the tests configure; asserted never to appear in a response or log line. */
export const TEST_SECRETS = {
  CHILLR_API_KEY: 'test-chillr-key-6f2b9c1e8a7d',
  CHILLR_API_SECRET_KEY: 'test-chillr-secret-0d94e3b7c5a1',
  PBG_API_KEY: 'test-pbg-key-51c7e0a2d9b4',
  /** 32 printable ASCII characters, as PayByGroup issues them. */
  PBG_MERCHANT_AUTH: 'test-pbg-auth-7Qk2xR9vL4mN8pZ3wX',
};

export interface TestApp extends RunningApp {
  /** Every log line written so far (JSON text). */
  logs: string[];
  /** POSTs a typed operation to /graphql over real HTTP. */
  gql<R, V>(
    document: TypedDocumentNode<R, V>,
    variables?: V,
  ): Promise<ExecutionResult<R> & { status: number; body: string }>;
  /** POSTs raw GraphQL text. */
  raw(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; json: ExecutionResult; body: string }>;
}

/**
 * Starts the whole service on an ephemeral port, with the in-process sandbox simulators on
 * ephemeral ports, an in-memory store unless `env` says otherwise, and captured logs.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: Pick<AppOptions, 'wrapStore' | 'now'> = {},
): Promise<TestApp> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    CHILLR_SANDBOX_PORT: '0',
    PBG_SANDBOX_PORT: '0',
    STORE_URL: 'memory://',
    // memory:// forgets on a restart; cases with NODE_ENV=production run on it knowingly (the
    // refusal itself is tested with this set back to false).
    ALLOW_FORGETFUL_STORE: 'true',
    // Each app its own journal directory: another test's leftovers are not this app's to adopt.
    OUTBOX_DIR: mkdtempSync(join(tmpdir(), 'outbox-')),
    UPSTREAM_TIMEOUT_MS: '2000',
    PBG_CACHE_TTL_MS: '0',
    // Tests read right after changing the simulators; the status cache has its own tests.
    CHILLR_STATUS_CACHE_MS: '0',
    // Test files share one app across cases that each inject upstream faults on purpose; the
    // circuit breaker would turn their sum into fail-fast answers. Breaker tests set their own.
    UPSTREAM_BREAKER_THRESHOLD: '1000',
    ...TEST_SECRETS,
    ...env,
  });
  const app = await startApp(config, {
    ...options,
    logger: createLogger({
      level: 'debug',
      destination,
      redactor: new Redactor(credentialsOf(config)),
    }),
  });
  const post = async (body: unknown) => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text };
  };
  // The journal directory made above goes with the app (a test that names its own keeps it).
  const ownJournal = env.OUTBOX_DIR === undefined ? config.outboxDir : undefined;
  const closeApp = app.close;
  return Object.assign(app, {
    logs,
    async close() {
      await closeApp();
      if (ownJournal) rmSync(ownJournal, { recursive: true, force: true });
    },
    async gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V) {
      const { status, text } = await post({ query: print(document), variables });
      return { ...(JSON.parse(text) as ExecutionResult<R>), status, body: text };
    },
    async raw(query: string, variables?: Record<string, unknown>) {
      const { status, text } = await post({ query, variables });
      return { status, json: JSON.parse(text) as ExecutionResult, body: text };
    },
  });
}

/** A date `days` from today, as YYYY-MM-DD. */
export function isoDateInDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * For test files that end by proving no secret leaked: every app started through `start` and
 * every response body read through `gql`/`raw` (or pushed to `responseBodies` by hand) is kept
 * for the final check; `closeAll` stops the apps.
 */
export function recordingApps() {
  const apps: TestApp[] = [];
  const responseBodies: string[] = [];
  return {
    apps,
    responseBodies,
    async start(env: Record<string, string> = {}): Promise<TestApp> {
      const app = await startTestApp(env);
      apps.push(app);
      return app;
    },
    async gql<R, V>(app: TestApp, document: TypedDocumentNode<R, V>, variables?: V) {
      const result = await app.gql(document, variables);
      responseBodies.push(result.body);
      return result;
    },
    async raw(app: TestApp, query: string, variables?: Record<string, unknown>) {
      const result = await app.raw(query, variables);
      responseBodies.push(result.body);
      return result;
    },
    closeAll: () => Promise.all(apps.map((app) => app.close())),
  };
}

/**
 * A standalone Chillr simulator that accepts the test credentials, for tests that point
 * CHILLR_BASE_URL at it (or at a proxy in front of it). Close it after use.
 */
export function startTestChillr(
  options: Omit<Parameters<typeof startChillrSimulator>[0], 'credentials'> = {},
): Promise<ChillrSimulator> {
  return startChillrSimulator({
    ...options,
    credentials: {
      apiKey: TEST_SECRETS.CHILLR_API_KEY,
      apiSecretKey: TEST_SECRETS.CHILLR_API_SECRET_KEY,
    },
  });
}

/** A standalone PayByGroup simulator with the test credentials, for PBG_BASE_URL. */
export function startTestPbg(
  options: Partial<Parameters<typeof startPbgSimulator>[0]> = {},
): Promise<PbgSimulator> {
  return startPbgSimulator({
    apiKey: TEST_SECRETS.PBG_API_KEY,
    merchantId: 'ABC',
    merchantAuth: TEST_SECRETS.PBG_MERCHANT_AUTH,
    ...options,
  });
}

/** The problems loadConfig reports for `env` (none: []). */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
