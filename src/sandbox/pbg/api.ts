import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PbgCore } from './core.js';
import type { PbgEndpoint } from './faults.js';
import { sendJson } from '../respond.js';
import { isObject, parseJson, sendRaw, type JsonObject } from './http.js';
import { parseFilter } from './query.js';
import { ACTIONS, isAction } from './status.js';

/**
 * Compares secrets in constant time. Hashing first gives equal lengths, so neither the content
 * nor the length of the configured secret leaks through timing.
 */
function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** A body that starts like a query answer and stops: what a proxy cutting a response leaves. */
const GARBAGE = '{"group_purchases": [{"purchase_id": "ABC_1234<html><body>502 Bad Gateway';

/**
 * Counts the request, then plays a queued fault if there is one. Returns false when the fault
 * already answered (http500/garbage answer before any state changes, so a retry is safe).
 */
async function countAndFault(
  core: PbgCore,
  endpoint: PbgEndpoint,
  text: string,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<boolean> {
  const parsed = parseJson(text);
  const body = parsed.ok ? parsed.value : text;
  core.calls[endpoint] += 1;
  (endpoint === 'query' ? core.calls.queryBodies : core.calls.actionBodies).push(body);
  const fault = core.faults.take(endpoint);
  if (!fault) return true;
  switch (fault.kind) {
    case 'http500':
      sendJson(res, 500, { error: 'Internal Server Error (sandbox fault)' });
      return false;
    case 'garbage':
      sendRaw(res, 200, GARBAGE);
      return false;
    case 'delay':
      try {
        await sleep(fault.ms, undefined, { signal });
      } catch {
        res.destroy(); // the simulator is closing
        return false;
      }
      return true;
  }
}

function objectBody(text: string): JsonObject | undefined {
  const parsed = parseJson(text);
  return parsed.ok && isObject(parsed.value) ? parsed.value : undefined;
}

/** POST /api/merch_get_purch_info.json */
export async function handleQuery(
  core: PbgCore,
  text: string,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  if (!(await countAndFault(core, 'query', text, res, signal))) return;
  const body = objectBody(text);
  if (!body) {
    sendJson(res, 400, { error: 'the request body must be a JSON object' });
    return;
  }
  if (!sameSecret(body.api_key, core.config.apiKey)) {
    sendJson(res, 401, { error: 'api_key is missing or wrong' });
    return;
  }
  const parsed = parseFilter(body);
  if ('error' in parsed) {
    sendJson(res, 400, { error: parsed.error });
    return;
  }
  sendJson(res, 200, { group_purchases: core.query(parsed.filter) });
}

/** POST /api/purchase_action.json?merchant_id=… */
export async function handleAction(
  core: PbgCore,
  text: string,
  query: URLSearchParams,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  if (!(await countAndFault(core, 'action', text, res, signal))) return;
  const body = objectBody(text);
  if (!body) {
    sendJson(res, 400, { result: false, error: 'the request body must be a JSON object' });
    return;
  }
  // The answer never says which of the two was wrong: that would help someone guessing.
  if (
    query.get('merchant_id') !== core.config.merchantId ||
    !sameSecret(body.merchant_auth, core.config.merchantAuth)
  ) {
    sendJson(res, 401, { result: false });
    return;
  }
  const { purchase_id: purchaseId, action } = body;
  if (typeof purchaseId !== 'string' || purchaseId === '') {
    sendJson(res, 400, { result: false, error: 'purchase_id must be a non-empty string' });
    return;
  }
  if (!isAction(action)) {
    sendJson(res, 400, {
      result: false,
      error: `unknown action ${JSON.stringify(action)}; expected one of ${ACTIONS.join(', ')}`,
    });
    return;
  }
  sendJson(res, 200, { result: core.act(purchaseId, action) });
}
