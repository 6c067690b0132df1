import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS, type TestApp } from './helpers/app.js';
import { leaksSecret, Session, unique } from './helpers/faults/harness.js';
import { expectActedOnce, subject } from './helpers/faults/moves.js';
import type { ProxiedRequest, Replacement } from './helpers/faults/proxy.js';
import { MERCHANT_ID, startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';

/**
 * Money safety, the caller's side of the contract: a create whose status read fails
 * still names its batch; REQUIRE_IDEMPOTENCY_KEY; keys scoped by mutation; a lost answer
 * without a key is still UPSTREAM_OUTCOME_UNKNOWN; and upstreams that echo the request they
 * were sent (credentials included) in every failure text leak nothing to the caller or the log.
 */

const session = new Session();
let upstreams: Upstreams;
let app: TestApp;

beforeAll(async () => {
  upstreams = await startUpstreams();
  app = await session.start(upstreams.env);
});
afterEach(() => upstreams.healthy());
afterAll(async () => {
  await session.closeAll();
  await upstreams?.close();
});

/** Total requests both proxies received (reads included). */
const upstreamRequests = () => upstreams.chillr.requests.length + upstreams.pbg.requests.length;

describe('a create whose status read fails', () => {
  for (const withKey of [true, false]) {
    it(`should still answer the batchId (${withKey ? 'with' : 'without'} a key)`, async () => {
      const s = await subject('create', session, upstreams);
      upstreams.chillr.inject('http5xx', { on: 'read', times: 50 });
      const reply = await s.call(app, withKey);
      const payload = (reply.json.data as { createCollectBatch: Record<string, unknown> | null })
        .createCollectBatch;
      const [made] = await upstreams.batchesNamed(s.actKey);
      expect(made, 'the batch Chillr made').toBeDefined();
      expect(payload?.batchId, JSON.stringify(reply.json)).toBe(made);
      expect(payload?.batch).toBeNull();
      expect(reply.json.errors?.map((e) => e.path)).toContainEqual(['createCollectBatch', 'batch']);
      await expectActedOnce(s);
    });
  }
});

describe('REQUIRE_IDEMPOTENCY_KEY', () => {
  const strictEnvs: Array<Record<string, string>> = [
    { REQUIRE_IDEMPOTENCY_KEY: 'true' },
    // Production also needs a router secret, or a word that the network keeps others out.
    {
      NODE_ENV: 'production',
      ALLOW_UNAUTHENTICATED_ROUTER: 'true',
      SUBSCRIPTION_CALLBACK_ENABLED: 'false',
    },
  ];
  for (const env of strictEnvs) {
    it(`should refuse a money move without a key before any upstream call (${JSON.stringify(env)})`, async () => {
      const strict = await session.start({ ...upstreams.env, ...env });
      for (const move of ['create', 'refund', 'collect'] as const) {
        const s = await subject(move, session, upstreams);
        const before = upstreamRequests();
        const reply = await s.call(strict, false);
        expect(reply.answer.userErrors, JSON.stringify(reply.json)).toEqual([
          'IDEMPOTENCY_KEY_REQUIRED',
        ]);
        const errors = (Object.values(reply.json.data ?? {})[0] as { userErrors: unknown[] })
          .userErrors;
        expect(errors[0]).toMatchObject({ field: ['idempotencyKey'] });
        expect(upstreamRequests() - before, 'upstream requests').toBe(0);
        // With a key the same request goes through, once.
        expect(s.succeeded((await s.call(strict)).answer)).toBe(true);
        await expectActedOnce(s);
      }
      await strict.close();
    });
  }

  it('should let a money move without a key through when off (the default outside production)', async () => {
    for (const move of ['create', 'refund'] as const) {
      const s = await subject(move, session, upstreams);
      expect(s.succeeded((await s.call(app, false)).answer)).toBe(true);
      await expectActedOnce(s);
    }
  });
});

describe('keys', () => {
  it('should treat one key on two different mutations as two independent requests', async () => {
    const key = unique('shared-key');
    const create = await subject('create', session, upstreams, key);
    const refund = await subject('refund', session, upstreams, key);
    const created = await create.call(app);
    const refunded = await refund.call(app);
    expect(create.succeeded(created.answer), JSON.stringify(created.json)).toBe(true);
    expect(refund.succeeded(refunded.answer), JSON.stringify(refunded.json)).toBe(true);
    expect((await create.call(app)).answer).toEqual(created.answer);
    expect((await refund.call(app)).answer).toEqual(refunded.answer);
    await expectActedOnce(create);
    await expectActedOnce(refund);
  });

  it('should refuse one key reused with another input of the same mutation, acting once', async () => {
    const first = await subject('refund', session, upstreams);
    const other = await subject('refund', session, upstreams, first.key);
    expect(first.succeeded((await first.call(app)).answer)).toBe(true);
    expect((await other.call(app)).answer.userErrors).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(other.proxy.received(other.actKey)).toBe(0);
    await expectActedOnce(first);
  });

  for (const move of ['create', 'collect'] as const) {
    it(`should answer UPSTREAM_OUTCOME_UNKNOWN for a lost answer without a key (${move})`, async () => {
      const s = await subject(move, session, upstreams);
      s.inject('http5xx');
      const reply = await s.call(app, false);
      expect(reply.answer, JSON.stringify(reply.json)).toEqual({
        error: 'UPSTREAM_OUTCOME_UNKNOWN',
        userErrors: [],
      });
      await expectActedOnce(s);
    });
  }
});

/** The request as an echoing upstream would quote it: path, query (merchant id) and body. */
const echoed: string[] = [];
function echo(request: ProxiedRequest, padTo?: { secret: string; cutAt: number }): string {
  let text = `${request.url} ${request.text}`;
  echoed.push(text);
  if (padTo) {
    // Places the secret so a 200-character cut falls inside it, after 10+ characters of its tail.
    const at = text.indexOf(padTo.secret);
    text = `${'.'.repeat(Math.max(0, padTo.cutAt - at))}${text}`;
  }
  return text;
}

const replace = (
  forward: boolean,
  status: number,
  body: (r: ProxiedRequest) => unknown,
): Replacement => ({
  forward,
  answer: (request) => {
    const value = body(request);
    return { status, body: typeof value === 'string' ? value : JSON.stringify(value) };
  },
});

describe('upstreams that echo the request, credentials included', () => {
  const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
  const cases: Array<{ name: string; move: 'create' | 'refund'; fault: Replacement; on?: 'read' }> =
    [
      {
        name: 'Chillr 59 quoting the request',
        move: 'create',
        fault: replace(true, 200, (r) => ({
          status: 'failure',
          status_code: 59,
          message: `Internal server error: ${echo(r)}`,
        })),
      },
      {
        name: 'Chillr 58 with reasons quoting it',
        move: 'create',
        fault: replace(false, 200, (r) => ({
          status: 'failure',
          status_code: 58,
          message: `Invalid parameters ${echo(r)}`,
          data: { reason: [`customer rejected: ${echo(r)}`] },
        })),
      },
      {
        name: 'Chillr 56 quoting it',
        move: 'create',
        fault: replace(false, 200, (r) => ({
          status: 'failure',
          status_code: 56,
          message: echo(r),
        })),
      },
      {
        name: 'Chillr 57 quoting it on HTTP 401',
        move: 'create',
        fault: replace(false, 401, (r) => ({
          status: 'failure',
          status_code: 57,
          message: echo(r),
        })),
      },
      {
        name: 'Chillr code 73 (unknown) quoting it',
        move: 'create',
        fault: replace(true, 200, (r) => ({
          status: 'failure',
          status_code: 73,
          message: echo(r),
        })),
      },
      {
        name: 'Chillr non-JSON starting with the request',
        move: 'create',
        fault: replace(true, 200, (r) => `${r.text}<html>`),
      },
      {
        name: 'Chillr 502 page quoting it',
        move: 'create',
        fault: replace(true, 502, (r) => `<html>${echo(r)}</html>`),
      },
      {
        name: 'PBG 400 quoting the request',
        move: 'refund',
        fault: replace(false, 400, (r) => ({ result: false, error: `bad request ${echo(r)}` })),
      },
      {
        name: 'PBG 400 with the auth cut at 200 characters',
        move: 'refund',
        fault: replace(false, 400, (r) => ({
          result: false,
          error: echo(r, { secret: auth, cutAt: 176 }),
        })),
      },
      {
        name: 'PBG 500 quoting it',
        move: 'refund',
        fault: replace(true, 500, (r) => ({ error: echo(r) })),
      },
      {
        name: 'PBG 422 message quoting it',
        move: 'refund',
        fault: replace(false, 422, (r) => ({ message: echo(r) })),
      },
      {
        name: 'PBG 200 whose result is the request',
        move: 'refund',
        fault: replace(true, 200, (r) => ({ result: `${r.text}` })),
      },
      {
        name: 'PBG 404 quoting it',
        move: 'refund',
        fault: replace(false, 404, (r) => ({ error: echo(r) })),
      },
    ];
  for (const c of cases) {
    it(`should not pass the credentials on: ${c.name}`, async () => {
      const s = await subject(c.move, session, upstreams);
      s.inject(c.fault);
      const reply = await s.call(app);
      expect(
        reply.answer.error ?? reply.answer.userErrors[0],
        JSON.stringify(reply.json),
      ).toBeDefined();
      expect(leaksSecret(JSON.stringify(reply.json)), JSON.stringify(reply.json)).toBe(false);
    });
  }

  it('should not pass the credentials on when the read-back of an unknown action is answered with an echo', async () => {
    const s = await subject('collect', session, upstreams);
    s.inject('http5xx');
    expect((await s.call(app)).answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
    s.proxy.inject(
      replace(false, 400, (r) => ({ error: `cannot read ${echo(r)}` })),
      { on: 'read', times: 5 },
    );
    const reply = await s.call(app);
    expect(reply.answer.error, JSON.stringify(reply.json)).toBe('UPSTREAM_OUTCOME_UNKNOWN');
    expect(leaksSecret(JSON.stringify(reply.json)), JSON.stringify(reply.json)).toBe(false);
    upstreams.healthy();
    expect(s.succeeded((await s.call(app)).answer)).toBe(true);
    await expectActedOnce(s);
  });

  it('should have echoed every credential and the merchant id (the fakes really leak)', () => {
    const all = echoed.join('\n');
    for (const secret of [...Object.values(TEST_SECRETS), MERCHANT_ID])
      expect(all).toContain(secret);
  });
});

describe('secrets', () => {
  it('should leak no credential or merchant id into any response body or log line of this file', () => {
    expect(session.bodies.length).toBeGreaterThan(20);
    expect(session.leaks()).toEqual([]);
  });
});
