import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import { startTestApp, startTestChillr, type TestApp } from './helpers/app.js';
import { traceRecordingProxy, type Recorder } from './helpers/telemetry.js';

/**
 * Without OTEL_EXPORTER_OTLP_ENDPOINT no span is recorded, and the per-field resolver spans
 * are not even started (src/http/plugin/observability): the caller's trace context must still
 * reach Chillr and every log line of the request, exactly as a non-recording span would carry
 * it — and a request without a `traceparent` carries none.
 */

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN}-01`;

describe('trace context with tracing off', () => {
  let chillr: ChillrSimulator;
  let proxy: Recorder;
  let app: TestApp;

  beforeAll(async () => {
    chillr = await startTestChillr({ port: 0 });
    proxy = await traceRecordingProxy(chillr.url);
    app = await startTestApp({ CHILLR_BASE_URL: proxy.url });
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await chillr?.close();
  });

  async function read(id: string, headers: Record<string, string>, requestId: string) {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
      body: JSON.stringify({ query: '{ collectBatch(id: "' + id + '") { id status } }' }),
    });
    expect(response.status).toBe(200);
  }

  const linesOf = (requestId: string) =>
    app.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.requestId === requestId);

  it('should pass the caller trace id to Chillr and into the request log line', async () => {
    const seen = proxy.seen.length;
    await read('5743fcb263686923fc0d9999', { traceparent: TRACEPARENT }, 'trace-off-1');
    const calls = proxy.seen.slice(seen);
    expect(calls.length).toBe(1);
    expect(calls[0]!.traceparent).toBe(TRACEPARENT);
    const lines = linesOf('trace-off-1');
    expect(lines.some((l) => l.msg === 'request')).toBe(true);
    for (const line of lines) expect(line.traceId).toBe(TRACE_ID);
  });

  it('should send no trace context and log no trace id for a request without one', async () => {
    const seen = proxy.seen.length;
    await read('5743fcb263686923fc0d9998', {}, 'trace-off-2');
    const calls = proxy.seen.slice(seen);
    expect(calls.length).toBe(1);
    expect(calls[0]!.traceparent).toBeUndefined();
    const lines = linesOf('trace-off-2');
    expect(lines.some((l) => l.msg === 'request')).toBe(true);
    for (const line of lines) expect(line).not.toHaveProperty('traceId');
  });
});
