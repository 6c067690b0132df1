import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.js';
import { Session, unique, type Answer } from './helpers/faults/harness.js';
import type { ProxiedRequest, Replacement } from './helpers/faults/proxy.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';

/**
 * A retried PayByGroup action whose first attempt's outcome is unknown is never answered
 * ACTION_REJECTED: PayByGroup refusing the re-send proves nothing when the first attempt may be
 * what moved the purchase on. Three adversarial orders, each ending `accepted: true` or
 * UPSTREAM_OUTCOME_UNKNOWN, with PayByGroup carrying out the action once.
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

/** A gateway in front of PayByGroup answering 502 without passing the request on (yet). */
const gateway502: Replacement = {
  forward: false,
  answer: () => ({ status: 502, body: '<html><body>502 Bad Gateway</body></html>' }),
};

/** Never "rejected"; accepted: true or the outcome left unknown. */
function expectNotRejected(answer: Answer): void {
  expect(answer.userErrors).not.toContain('ACTION_REJECTED');
  if (answer.error === undefined) expect(answer.accepted).toBe(true);
  else expect(answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
}

/**
 * The first attempt of `action` acts at PayByGroup and its answer is lost (502 after acting);
 * another key then moves the purchase on with `then`; the first key is retried three times.
 */
async function actedThenMovedOn(
  start: string,
  action: string,
  word: string,
  then: string,
): Promise<{ answers: Answer[]; purchaseId: string }> {
  const purchaseId = await upstreams.newPurchase(start);
  const key = unique(`key-${word}`);
  upstreams.pbg.inject('http5xx', { key: `${purchaseId}/${word}` });
  const first = await session.act(app, purchaseId, action, key);
  expect(first.answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
  const other = await session.act(app, purchaseId, then, unique('key-other'));
  expect(other.answer.accepted, JSON.stringify(other.json)).toBe(true);
  const answers = [];
  for (let i = 0; i < 3; i++)
    answers.push((await session.act(app, purchaseId, action, key)).answer);
  return { answers, purchaseId };
}

describe('read-back after an unknown outcome', () => {
  it('should not answer ACTION_REJECTED for a COLLECT_FUNDS that acted, when a REFUND followed under another key', async () => {
    const { answers, purchaseId } = await actedThenMovedOn(
      'payment_completed',
      'COLLECT_FUNDS',
      'collect_funds',
      'REFUND',
    );
    for (const answer of answers) expectNotRejected(answer);
    expect(upstreams.pbg.acts(`${purchaseId}/collect_funds`), 'collect transitions').toBe(1);
    expect(upstreams.pbg.acts(`${purchaseId}/refund`), 'refund transitions').toBe(1);
    expect(await upstreams.purchaseStatus(purchaseId)).toBe('refunded');
  });

  it('should not answer ACTION_REJECTED for a SET_UNAVAILABLE that acted, when a CANCEL followed under another key', async () => {
    const { answers, purchaseId } = await actedThenMovedOn(
      'pending',
      'SET_UNAVAILABLE',
      'set_unavailable',
      'CANCEL',
    );
    for (const answer of answers) expectNotRejected(answer);
    expect(upstreams.pbg.acts(`${purchaseId}/set_unavailable`), 'transitions').toBe(1);
    expect(await upstreams.purchaseStatus(purchaseId)).toBe('cancelled');
  });

  it('should not answer ACTION_REJECTED when a gateway answered 502 at once and PayByGroup applied the action later', async () => {
    const purchaseId = await upstreams.newPurchase('payment_completed');
    const actKey = `${purchaseId}/collect_funds`;
    const key = unique('key-collect');
    let delayed: ProxiedRequest | undefined;
    const stopWatching = upstreams.pbg.onRequest((request) => {
      if (request.kind === 'act' && request.key === actKey) delayed ??= request;
    });
    upstreams.pbg.inject(gateway502, { key: actKey });
    const first = await session.act(app, purchaseId, 'COLLECT_FUNDS', key);
    stopWatching();
    expect(first.answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
    expect(await upstreams.purchaseStatus(purchaseId), 'not applied yet').toBe('payment_completed');

    // The retry reads the purchase back (no effect yet) and sends the action again; while that
    // re-send waits at the proxy, the gateway finally passes the first request on.
    const hold = upstreams.pbg.hold(actKey);
    const retry = session.act(app, purchaseId, 'COLLECT_FUNDS', key);
    await hold.arrived;
    const late = await fetch(`${upstreams.pbgSim.url}${delayed!.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: delayed!.text,
    });
    expect(((await late.json()) as { result: boolean }).result, 'the first attempt acts').toBe(
      true,
    );
    hold.release();
    const second = (await retry).answer;
    expectNotRejected(second);
    expect(second.error, 'the re-send was refused: unknown, not rejected').toBe(
      'UPSTREAM_OUTCOME_UNKNOWN',
    );
    expect(upstreams.pbg.acts(actKey), 'the re-send did not act').toBe(0);

    // The next retry sees the effect.
    const third = (await session.act(app, purchaseId, 'COLLECT_FUNDS', key)).answer;
    expect(third).toEqual({ accepted: true, userErrors: [] });
    expect(await upstreams.purchaseStatus(purchaseId)).toBe('collected');
  });

  it('should answer accepted when the change log shows the effect after the claim, though the purchase moved on', async () => {
    const purchaseId = await upstreams.newPurchase('payment_completed');
    const key = unique('key-collect');
    upstreams.pbg.inject('http5xx', { key: `${purchaseId}/collect_funds` });
    expect((await session.act(app, purchaseId, 'COLLECT_FUNDS', key)).answer.error).toBe(
      'UPSTREAM_OUTCOME_UNKNOWN',
    );
    // A read logs the purchase as COLLECTED; then another key refunds it.
    const read = await app.raw(`query ($id: ID!) { groupPurchase(purchaseId: $id) { status } }`, {
      id: purchaseId,
    });
    expect(read.json.data).toEqual({ groupPurchase: { status: 'COLLECTED' } });
    await session.act(app, purchaseId, 'REFUND', unique('key-other'));
    const before = upstreams.pbg.received(`${purchaseId}/collect_funds`);
    const retry = await session.act(app, purchaseId, 'COLLECT_FUNDS', key);
    expect(retry.answer).toEqual({ accepted: true, userErrors: [] });
    expect(upstreams.pbg.received(`${purchaseId}/collect_funds`), 'nothing sent again').toBe(
      before,
    );
    expect(upstreams.pbg.acts(`${purchaseId}/collect_funds`)).toBe(1);
  });

  it('should say what is known when the re-send is refused', async () => {
    const purchaseId = await upstreams.newPurchase('payment_completed');
    const key = unique('key-collect');
    upstreams.pbg.inject('http5xx', { key: `${purchaseId}/collect_funds` });
    await session.act(app, purchaseId, 'COLLECT_FUNDS', key);
    await session.act(app, purchaseId, 'REFUND', unique('key-other'));
    const retry = await session.act(app, purchaseId, 'COLLECT_FUNDS', key);
    // Nothing logged the purchase as COLLECTED (no push, no read between): only the re-send
    // could tell, and PayByGroup refused it.
    const error = retry.json.errors?.[0];
    expect(retry.answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
    expect(error?.extensions).toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
      upstreamFailure: 'RESENT_AND_REFUSED',
      purchaseStatus: 'REFUNDED',
    });
    expect(error?.message).toContain('proves nothing');
  });
});
