import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics.js';
import { SingleFlight } from '../src/upstream/single-flight.js';

/**
 * The single-flight unit on its own: what is shared, for how long, and what one caller can and
 * cannot do to the others. Upstream calls are deferred promises the test settles itself, so
 * "in flight" is exact; counts are the calls started.
 */

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An upstream stand-in: each call returns the next pending answer and is counted. */
function upstream<T>() {
  const answers: Array<ReturnType<typeof deferred<T>>> = [];
  return {
    answers,
    get calls() {
      return answers.length;
    },
    call: () => {
      const answer = deferred<T>();
      answers.push(answer);
      return answer.promise;
    },
  };
}

describe('SingleFlight', () => {
  it('should share one call between callers asking the same question, whatever the key order', async () => {
    const flights = new SingleFlight({ upstream: 'chillr' });
    const fake = upstream<string>();
    const waits = [
      flights.run('status', { batchId: 'b1', merchant: 'm' }, fake.call),
      flights.run('status', { merchant: 'm', batchId: 'b1' }, fake.call),
      flights.run('status', { batchId: 'b1', merchant: 'm' }, fake.call),
    ];
    expect(fake.calls).toBe(1);
    expect(flights.stats()).toEqual({ sent: 1, joined: 2, inFlight: 1 });
    fake.answers[0]!.resolve('ACTIVE');
    expect(await Promise.all(waits)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(flights.stats().inFlight).toBe(0);
  });

  it('should not share between different operations or arguments', () => {
    const flights = new SingleFlight({ upstream: 'pbg' });
    const fake = upstream<string>();
    void flights.run('purchase', { purchaseId: 'P1' }, fake.call);
    void flights.run('purchase', { purchaseId: 'P2' }, fake.call);
    void flights.run('purchases', { purchaseId: 'P1' }, fake.call);
    void flights.run('purchase', { purchaseId: 'P1', merchantId: 'OTHER' }, fake.call);
    expect(fake.calls).toBe(4);
    for (const answer of fake.answers) answer.resolve('x');
  });

  it('should keep nothing once the call has settled: the next caller starts a new one', async () => {
    const flights = new SingleFlight({ upstream: 'chillr' });
    const fake = upstream<string>();
    const first = flights.run('status', { batchId: 'b1' }, fake.call);
    fake.answers[0]!.resolve('ACTIVE');
    expect(await first).toBe('ACTIVE');
    // The moment a caller holds the answer, the flight is gone: no one else is served it later.
    expect(flights.stats().inFlight).toBe(0);
    const second = flights.run('status', { batchId: 'b1' }, fake.call);
    expect(fake.calls).toBe(2);
    fake.answers[1]!.resolve('COMPLETED');
    expect(await second).toBe('COMPLETED');
  });

  it('should share a failure with that flight only, and never keep it', async () => {
    const flights = new SingleFlight({ upstream: 'chillr' });
    const fake = upstream<string>();
    const a = flights.run('status', { batchId: 'b1' }, fake.call);
    const b = flights.run('status', { batchId: 'b1' }, fake.call);
    fake.answers[0]!.reject(new Error('UPSTREAM_TIMEOUT'));
    await expect(a).rejects.toThrow('UPSTREAM_TIMEOUT');
    await expect(b).rejects.toThrow('UPSTREAM_TIMEOUT');
    const c = flights.run('status', { batchId: 'b1' }, fake.call);
    expect(fake.calls).toBe(2);
    fake.answers[1]!.resolve('ACTIVE');
    expect(await c).toBe('ACTIVE');
  });

  it('should let a caller stop waiting without cancelling the call for the others', async () => {
    const flights = new SingleFlight({ upstream: 'pbg' });
    const fake = upstream<string>();
    const leaving = new AbortController();
    const gone = flights.run('purchase', { purchaseId: 'P1' }, fake.call, {
      signal: leaving.signal,
    });
    const staying = flights.run('purchase', { purchaseId: 'P1' }, fake.call);
    leaving.abort(new Error('the client went away'));
    await expect(gone).rejects.toThrow('the client went away');
    // The call goes on, and a caller arriving now still joins it.
    const late = flights.run('purchase', { purchaseId: 'P1' }, fake.call);
    expect(fake.calls).toBe(1);
    fake.answers[0]!.resolve('PENDING');
    expect([await staying, await late]).toEqual(['PENDING', 'PENDING']);
  });

  it('should refuse at once a caller whose signal has already fired, and still send nothing twice', async () => {
    const flights = new SingleFlight({ upstream: 'pbg' });
    const fake = upstream<string>();
    const running = flights.run('purchase', { purchaseId: 'P1' }, fake.call);
    const aborted = AbortSignal.abort(new Error('already gone'));
    await expect(
      flights.run('purchase', { purchaseId: 'P1' }, fake.call, { signal: aborted }),
    ).rejects.toThrow('already gone');
    fake.answers[0]!.resolve('PENDING');
    expect(await running).toBe('PENDING');
    expect(fake.calls).toBe(1);
  });

  it('should not leave an unhandled rejection when every caller stopped waiting', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const flights = new SingleFlight({ upstream: 'chillr' });
      const fake = upstream<string>();
      const leaving = new AbortController();
      const gone = flights.run('status', { batchId: 'b1' }, fake.call, { signal: leaving.signal });
      leaving.abort();
      await expect(gone).rejects.toThrow();
      fake.answers[0]!.reject(new Error('late failure'));
      // Two macrotask turns: Node reports unhandled rejections after the microtask queue drains.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('should count sent and joined in payments_upstream_singleflight_total', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const flights = new SingleFlight({ upstream: 'pbg', metrics });
    const fake = upstream<string>();
    const waits = [1, 2, 3].map(() => flights.run('purchases', { status: ['PENDING'] }, fake.call));
    fake.answers[0]!.resolve('ok');
    await Promise.all(waits);
    const text = (await metrics.render()).body;
    expect(text).toContain('payments_upstream_singleflight_total{upstream="pbg",result="sent"} 1');
    expect(text).toContain(
      'payments_upstream_singleflight_total{upstream="pbg",result="joined"} 2',
    );
    expect(text).toContain(
      'payments_upstream_singleflight_total{upstream="chillr",result="joined"} 0',
    );
  });
});
