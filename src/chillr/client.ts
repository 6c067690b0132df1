import type { Logger } from '../logger.js';
import { Redactor } from '../redact.js';
import type { UpstreamGuard } from '../upstream/guard.js';
import { postJson } from '../upstream/http.js';
import {
  AUTH_CODES,
  INTERNAL_ERROR_CODE,
  NOT_FOUND_CODES,
  authError,
  createIssues,
  internalError,
  unexpectedCode,
} from './codes.js';
import {
  readCreateSuccess,
  readEnvelope,
  readReasons,
  type Envelope,
  readStatus,
  repairStatusJson,
} from './parse.js';
import type { ChillrBatchStatus, CreateBatchRequest, CreateBatchResult } from './types.js';

export interface ChillrClientOptions {
  /** e.g. https://onlineapi.chillr.in (no trailing slash). */
  baseUrl: string;
  apiKey: string;
  apiSecretKey: string;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /**
   * Extra attempts of the status check after a timeout, refused connection or 5xx. The create
   * call is never retried: Chillr has no idempotency key, so a retry after a lost answer could
   * send every customer a second bill.
   * @default 2
   */
  statusRetries?: number;
  /**
   * Scrubs Chillr's free text (failure messages, per-customer reasons) before it goes into an
   * error, a userError or a log line: Chillr may echo the request, credentials included.
   * @default a Redactor of this client's own credentials
   */
  redactor?: Redactor;
  /** Bulkhead and circuit breaker shared by every call to this upstream. @default none */
  guard?: UpstreamGuard;
  logger: Logger;
}

/**
 * The Chillr Mass Collect REST client: wire format in, domain types out. It knows nothing of
 * GraphQL and never logs a request body (the credentials travel in it).
 */
export class ChillrClient {
  private readonly redactor: Redactor;

  constructor(private readonly options: ChillrClientOptions) {
    this.redactor = options.redactor ?? new Redactor([options.apiKey, options.apiSecretKey]);
  }

  /** POST /api/v5/collect. The request must already be validated (see validate.ts). */
  async createBatch(request: CreateBatchRequest): Promise<CreateBatchResult> {
    const { json } = await postJson({
      upstream: 'Chillr',
      url: `${this.options.baseUrl}/api/v5/collect`,
      body: {
        ...this.credentials(),
        name: request.name,
        expiry_date: toChillrDate(request.expiryDate),
        customers: request.customers.map((c) => ({ msisdn: c.msisdn, amount: c.amount })),
      },
      timeoutMs: this.options.timeoutMs,
      guard: this.options.guard,
      retries: 0,
      logger: this.options.logger,
    });
    const envelope = this.readSafe(json, 'create');
    if (envelope.ok) return { kind: 'created', ...readCreateSuccess(envelope) };
    if (AUTH_CODES.has(envelope.code)) throw authError(envelope.code, envelope.message);
    if (envelope.code === INTERNAL_ERROR_CODE) throw internalError(envelope.message);
    if ((envelope.code >= 52 && envelope.code <= 55) || envelope.code === 58) {
      return {
        kind: 'rejected',
        issues: createIssues(
          envelope.code,
          envelope.message,
          readReasons(envelope).map((reason) => this.redactor.upstreamText(reason)),
        ),
      };
    }
    throw unexpectedCode(envelope.code, envelope.message);
  }

  /** POST /api/v5/check_collect_status; null when Chillr does not know the batch. */
  async checkStatus(batchId: string): Promise<ChillrBatchStatus | null> {
    const { json } = await postJson({
      upstream: 'Chillr',
      url: `${this.options.baseUrl}/api/v5/check_collect_status`,
      body: { ...this.credentials(), batch_id: batchId },
      timeoutMs: this.options.timeoutMs,
      guard: this.options.guard,
      retries: this.options.statusRetries ?? 2,
      repairJson: repairStatusJson,
      logger: this.options.logger,
    });
    const envelope = this.readSafe(json, 'status check');
    if (envelope.ok) return readStatus(envelope, batchId);
    if (NOT_FOUND_CODES.has(envelope.code)) return null;
    if (AUTH_CODES.has(envelope.code)) throw authError(envelope.code, envelope.message);
    if (envelope.code === INTERNAL_ERROR_CODE) throw internalError(envelope.message);
    throw unexpectedCode(envelope.code, envelope.message);
  }

  /** The envelope, its message already scrubbed of anything secret Chillr echoed. */
  private readSafe(json: unknown, what: string): Envelope {
    const envelope = readEnvelope(json, what);
    return { ...envelope, message: this.redactor.upstreamText(envelope.message) };
  }

  private credentials() {
    return { api_key: this.options.apiKey, api_secret_key: this.options.apiSecretKey };
  }
}

/** "2026-05-27" → "27-05-2026", Chillr's expiry format. */
export function toChillrDate(isoDate: string): string {
  const [year, month, day] = isoDate.split('-');
  return `${day}-${month}-${year}`;
}
