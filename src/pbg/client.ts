import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Redactor } from '../redact.js';
import type { UpstreamGuard } from '../upstream/guard.js';
import { postJson } from '../upstream/http.js';
import { parsePbgDate } from './datetime.js';
import { readPurchases, shapeOf } from './parse.js';
import {
  ACTION_WORDS,
  GroupPurchaseStatus,
  wordOfStatus,
  type GroupPurchaseRecord,
  type PurchaseAction,
  type PurchaseQuery,
} from './types.js';

export interface PbgClientOptions {
  /** PBG's base URL, e.g. https://184.106.133.37 (a trailing slash is dropped). */
  baseUrl: string;
  /** Sent as `api_key` on queries. */
  apiKey: string;
  /** Sent as `?merchant_id=` on actions. */
  merchantId: string;
  /** Sent as `merchant_auth` on actions. */
  merchantAuth: string;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /**
   * Extra attempts of a query after a timeout, refused connection or 5xx. Actions are never
   * retried: PBG's action call has no idempotency key, and a refund or collect_funds whose
   * answer was lost may well have happened.
   * @default 2
   */
  queryRetries?: number;
  /**
   * Scrubs PBG's free text before it goes into an error or a log line: PBG may echo the
   * request, credentials included.
   * @default a Redactor of this client's own credentials and merchant id
   */
  redactor?: Redactor;
  /** Bulkhead and circuit breaker shared by every call to this upstream. @default none */
  guard?: UpstreamGuard;
  logger: Logger;
}

const UPSTREAM = 'PayByGroup';
const QUERY_PATH = '/api/merch_get_purch_info.json';
const ACTION_PATH = '/api/purchase_action.json';

/**
 * The merchant side of PayByGroup's REST API: wire format in, domain types out. It knows
 * nothing of GraphQL and never logs a request body or PBG's answer (credentials travel in the
 * one, organisers' personal data in the other).
 */
export class PbgClient {
  private readonly baseUrl: string;
  private readonly redactor: Redactor;

  constructor(private readonly options: PbgClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.redactor =
      options.redactor ?? new Redactor([options.apiKey, options.merchantAuth, options.merchantId]);
  }

  /** POST /api/merch_get_purch_info.json with the filters given (none → every purchase). */
  async query(filter: PurchaseQuery): Promise<GroupPurchaseRecord[]> {
    const { fields, keepStatuses } = buildQueryFields(filter);
    const { status, json } = await postJson({
      upstream: UPSTREAM,
      url: `${this.baseUrl}${QUERY_PATH}`,
      body: { api_key: this.options.apiKey, ...fields },
      timeoutMs: this.options.timeoutMs,
      guard: this.options.guard,
      retries: this.options.queryRetries ?? 2,
      logger: this.options.logger,
    });
    this.failUnlessOk(status, json, 'purchase query', QUERY_PATH);
    const purchases = readPurchases(json, this.options.logger);
    return keepStatuses ? purchases.filter((p) => keepStatuses.has(p.status)) : purchases;
  }

  /**
   * POST /api/purchase_action.json?merchant_id=…: true when PBG accepted the action, false when
   * it refused it (PBG's `{"result": false}`: wrong state, unknown purchase). Sent exactly once.
   */
  async action(purchaseId: string, action: PurchaseAction): Promise<boolean> {
    if (purchaseId.trim() === '') {
      throw new ServiceError(ErrorCode.BAD_USER_INPUT, 'purchaseId must not be empty.');
    }
    const word = ACTION_WORDS[action] as string | undefined;
    if (word === undefined) {
      // Only reachable from untyped callers; the graph's enum cannot produce it.
      throw new ServiceError(
        ErrorCode.BAD_USER_INPUT,
        `action must be one of ${Object.keys(ACTION_WORDS).join(', ')} (got ${shapeOf(action)}).`,
      );
    }
    const merchantId = encodeURIComponent(this.options.merchantId);
    const { status, json } = await postJson({
      upstream: UPSTREAM,
      url: `${this.baseUrl}${ACTION_PATH}?merchant_id=${merchantId}`,
      body: { merchant_auth: this.options.merchantAuth, purchase_id: purchaseId, action: word },
      timeoutMs: this.options.timeoutMs,
      guard: this.options.guard,
      retries: 0,
      logger: this.options.logger,
    });
    this.failUnlessOk(status, json, 'purchase action', ACTION_PATH);
    const result = (json as { result?: unknown } | null)?.result;
    if (typeof result !== 'boolean') {
      throw new ServiceError(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `PayByGroup's purchase action answer is unreadable: expected {"result": true|false}, but result is ${shapeOf(result)}.`,
        // PBG answered 2xx, so it may well have carried the action out.
        { outcomeUnknown: true, upstreamAnswered: true },
      );
    }
    return result;
  }

  /**
   * postJson hands back every 2xx and 4xx answer (401/403 are already UPSTREAM_AUTH). A 400 from
   * PBG means this service sent a request PBG cannot read: a bug or a configuration problem,
   * never the API caller's, so it is UPSTREAM_BAD_RESPONSE carrying PBG's own explanation.
   */
  private failUnlessOk(status: number, json: unknown, what: string, path: string): void {
    if (status >= 200 && status < 300) return;
    this.options.logger.warn({ upstream: UPSTREAM, path, status }, 'PayByGroup refused a request');
    const said = this.pbgMessage(json);
    const detail = said ? `: ${said}` : '';
    if (status === 429) {
      throw new ServiceError(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `PayByGroup is rate-limiting this server (HTTP 429); try again later.`,
      );
    }
    if (status === 404) {
      throw new ServiceError(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `PayByGroup has no ${path} (HTTP 404${detail}); the operator must check PBG_BASE_URL.`,
      );
    }
    const meaning =
      status === 400 || status === 422
        ? 'refused the request as malformed — a bug or a configuration problem on this server, not something the caller can fix'
        : 'answered with a status this service does not expect';
    throw new ServiceError(
      ErrorCode.UPSTREAM_BAD_RESPONSE,
      `PayByGroup ${meaning} (${what}, HTTP ${status}${detail}).`,
    );
  }

  /** PBG's explanation from an error body (`error` or `message`), shortened and redacted. */
  private pbgMessage(json: unknown): string | undefined {
    if (typeof json !== 'object' || json === null) return undefined;
    const { error, message } = json as { error?: unknown; message?: unknown };
    const text = typeof error === 'string' ? error : typeof message === 'string' ? message : '';
    if (text === '') return undefined;
    return this.redactor.upstreamText(text);
  }
}

/** The request fields of a query, in PBG's names, plus the statuses to keep client-side. */
export interface QueryFields {
  fields: {
    merchant_id?: string;
    inventory_id?: string;
    purchase_id?: string;
    created_after?: string;
    created_before?: string;
    status?: string[];
  };
  /**
   * Set when the status filter asks for UNKNOWN. PBG can only filter by the words it is sent,
   * and UNKNOWN means "any word this service does not know", which has no word; so the status
   * constraint is left out of the request and applied to the answer instead. Without this,
   * dropping UNKNOWN from `[UNKNOWN]` would send no constraint (every purchase) or `[]` (none).
   */
  keepStatuses?: ReadonlySet<GroupPurchaseStatus>;
}

/** Maps a query to PBG's field names, sending only the filters given. */
export function buildQueryFields(filter: PurchaseQuery): QueryFields {
  const fields: QueryFields['fields'] = {};
  if (filter.merchantId !== undefined) fields.merchant_id = filter.merchantId;
  if (filter.inventoryId !== undefined) fields.inventory_id = filter.inventoryId;
  if (filter.purchaseId !== undefined) fields.purchase_id = filter.purchaseId;
  if (filter.createdAfter !== undefined) {
    fields.created_after = checkDate('createdAfter', filter.createdAfter);
  }
  if (filter.createdBefore !== undefined) {
    fields.created_before = checkDate('createdBefore', filter.createdBefore);
  }
  if (filter.status === undefined) return { fields };
  if (filter.status.includes(GroupPurchaseStatus.UNKNOWN)) {
    return { fields, keepStatuses: new Set(filter.status) };
  }
  // De-duplicated, in the caller's order; every status but UNKNOWN has a word.
  const words = filter.status.map(wordOfStatus).filter((w): w is string => w !== undefined);
  fields.status = [...new Set(words)];
  return { fields };
}

/** PBG would answer 400 to a bad date; saying so here names the caller's field instead. */
function checkDate(field: string, value: string): string {
  const date = parsePbgDate(value);
  if (date === null) {
    throw new ServiceError(
      ErrorCode.BAD_USER_INPUT,
      `${field} must be a calendar date "YYYY-MM-DD" (got ${JSON.stringify(value.slice(0, 40))}).`,
    );
  }
  return date;
}
