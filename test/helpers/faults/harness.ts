import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionResult } from 'graphql';
import { isoDateInDays, startTestApp, type TestApp } from '../app.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../postgres.js';
import { redisSkipReason, startRedisServer, type RedisServer } from '../redis.js';
import type { FaultyStore } from './store.js';
import { LEAK_NEEDLES } from './upstreams.js';

/**
 * What the money-safety suites share: the two money-moving mutations over real HTTP, their
 * answers reduced to what a caller acts on, store backends, bounded waits, and the record of
 * every response body and log line for the final leak check.
 */

/**
 * Upstream timeout in the suites: small, so a hang costs little, yet roomy enough that an
 * ordinary call on a busy 2-core machine does not time out and turn into a fault of its own.
 */
export const TIMEOUT_MS = 750;

export const CREATE = `mutation Create($input: CreateCollectBatchInput!) {
  createCollectBatch(input: $input) {
    batchId
    batch { id }
    nonChillrCustomers
    userErrors { code field message }
  }
}`;

export const ACTION = `mutation Act($input: PurchaseActionInput!) {
  performPurchaseAction(input: $input) {
    accepted
    userErrors { code field message }
  }
}`;

/** Anything that takes GraphQL over HTTP: an in-process TestApp or a service process. */
export type Caller = Pick<TestApp, 'raw'>;

/** What a caller learns from one mutation call. */
export interface Answer {
  /** `extensions.code` of the error that nulled the payload; undefined when there is a payload. */
  error?: string;
  /** createCollectBatch: the batch id Chillr gave (null when none). */
  batchId?: string | null;
  /** performPurchaseAction: whether PayByGroup accepted the action. */
  accepted?: boolean;
  /** userError codes, in order. */
  userErrors: string[];
}

export interface Reply {
  answer: Answer;
  status: number;
  json: ExecutionResult;
}

/** A create input for one Chillr user (so the batch is a real collect request). */
export function createInput(name: string, idempotencyKey?: string) {
  return {
    name,
    expiryDate: isoDateInDays(30),
    customers: [{ msisdn: '9447741462', amount: '200' }],
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  };
}

/** A fresh unique name (for keys and batch names). */
export function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 13)}`;
}

/** The answer a caller acts on, from a GraphQL result for `field`. */
export function answerOf(json: ExecutionResult, field: string): Answer {
  const payload = (json.data as Record<string, Record<string, unknown> | null> | null)?.[field];
  if (!payload) {
    const rootError = json.errors?.find((e) => e.path?.[0] === field) ?? json.errors?.[0];
    return { error: String(rootError?.extensions?.code ?? 'NO_PAYLOAD'), userErrors: [] };
  }
  const userErrors = (payload.userErrors as Array<{ code: string }>).map((e) => e.code);
  if ('batchId' in payload) return { batchId: payload.batchId as string | null, userErrors };
  return { accepted: payload.accepted as boolean, userErrors };
}

/**
 * One test file's calls: starts apps, runs the mutations through them, and keeps every
 * response body and every app's log lines for {@link Session.leaks}.
 */
export class Session {
  readonly bodies: string[] = [];
  readonly apps: TestApp[] = [];
  /** Log lines from outside the apps (child processes). */
  readonly extraLogs: string[] = [];

  async start(env: Record<string, string>, faulty?: FaultyStore): Promise<TestApp> {
    const app = await startTestApp(
      {
        UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
        // A short claim margin keeps "a timed-out attempt is over upstream" within a second.
        IDEMPOTENCY_CLAIM_MARGIN_MS: '500',
        // A circuit opened by a run of injected faults lets a probe through soon after.
        UPSTREAM_BREAKER_HALF_OPEN_MS: '200',
        ...env,
      },
      faulty ? { wrapStore: faulty.wrap } : {},
    );
    this.apps.push(app);
    return app;
  }

  async create(app: Caller, name: string, key?: string): Promise<Reply> {
    return this.call(app, CREATE, { input: createInput(name, key) }, 'createCollectBatch');
  }

  async act(app: Caller, purchaseId: string, action: string, key?: string): Promise<Reply> {
    const input = { purchaseId, action, ...(key === undefined ? {} : { idempotencyKey: key }) };
    return this.call(app, ACTION, { input }, 'performPurchaseAction');
  }

  async call(
    app: Caller,
    query: string,
    variables: Record<string, unknown>,
    field: string,
  ): Promise<Reply> {
    const { status, json, body } = await app.raw(query, variables);
    this.bodies.push(body);
    return { answer: answerOf(json, field), status, json };
  }

  /** Every response body and log line that contains a credential or the merchant id. */
  leaks(): string[] {
    const lines = [...this.bodies, ...this.apps.flatMap((a) => a.logs), ...this.extraLogs];
    return lines.filter(leaksSecret);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.close()));
  }
}

/** Whether `text` holds a credential or the merchant id, whole or cut (see LEAK_NEEDLES). */
export function leaksSecret(text: string): boolean {
  return LEAK_NEEDLES.some((needle) => text.includes(needle));
}

/**
 * Polls `check` until it holds, at most `timeoutMs`; throws `what` otherwise. For waiting on an
 * observable state (an outbox drained, a request at the proxy), never as a fixed sleep.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `promise`, or an Error naming `what` once `timeoutMs` passed: a barrier that cannot hang. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `call` until its answer satisfies `done` (at most `attempts` times, `pauseMs` apart) and
 * returns every answer seen, the last one satisfying `done`; throws naming `what` otherwise.
 */
export async function retryUntil(
  call: () => Promise<Answer>,
  done: (answer: Answer) => boolean,
  what: string,
  attempts = 40,
  pauseMs = 100,
): Promise<Answer[]> {
  const seen: Answer[] = [];
  for (let i = 0; i < attempts; i++) {
    const answer = await call();
    seen.push(answer);
    if (done(answer)) return seen;
    await sleep(pauseMs);
  }
  throw new Error(
    `${what}: no satisfying answer in ${attempts} tries; saw ${JSON.stringify(seen)}`,
  );
}

/** A store backend the cases run on. `open()` gives a STORE_URL shared by every app of a file. */
export interface Backend {
  name: 'memory' | 'sqlite' | 'redis' | 'postgres';
  /** Why the backend is skipped here, or undefined. */
  skip: string | undefined;
  /** Whether two apps given the same URL share data. */
  shared: boolean;
  open(): Promise<string>;
  close(): Promise<void>;
}

export function memoryBackend(): Backend {
  return {
    name: 'memory',
    skip: undefined,
    shared: false,
    open: () => Promise.resolve('memory://'),
    close: () => Promise.resolve(),
  };
}

export function sqliteBackend(): Backend {
  let dir: string | undefined;
  return {
    name: 'sqlite',
    skip: undefined,
    shared: true,
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'money-safety-'));
      return `sqlite:${join(dir, 'store.db')}`;
    },
    async close() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function redisBackend(): Backend & { server(): RedisServer } {
  let redis: RedisServer | undefined;
  return {
    name: 'redis',
    skip: redisSkipReason(),
    shared: true,
    async open() {
      redis = await startRedisServer();
      return redis.url;
    },
    async close() {
      await redis?.close();
    },
    server() {
      if (!redis) throw new Error('redis backend not opened');
      return redis;
    },
  };
}

/** A private PostgreSQL server (test/helpers/postgres.ts), one database per open(). */
export function postgresBackend(): Backend & { server(): PostgresServer } {
  let postgres: PostgresServer | undefined;
  return {
    name: 'postgres',
    skip: postgresSkipReason(),
    shared: true,
    async open() {
      postgres ??= await startPostgres();
      return postgres.createDatabase();
    },
    async close() {
      await postgres?.close();
      postgres = undefined;
    },
    server() {
      if (!postgres) throw new Error('postgres backend not opened');
      return postgres;
    },
  };
}

/**
 * memory://, a SQLite file, a real redis-server and a real PostgreSQL server (each skipped with
 * a reason when absent).
 */
export function allBackends(): Backend[] {
  return [memoryBackend(), sqliteBackend(), redisBackend(), postgresBackend()];
}

/** The "describe" title of a backend, with its skip reason. */
export function backendTitle(backend: Backend): string {
  return `on ${backend.name}${backend.skip ? ` (${backend.skip})` : ''}`;
}
