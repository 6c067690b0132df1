import type { Logger } from '../../logger.js';

/** One call PBG made (or would have made) to a merchant endpoint other than change push. */
export interface CallbackRecord {
  /** Path on the merchant, e.g. '/pbg/purchase_create.json' (the merchant_id query not included). */
  path: string;
  /** Request body as sent. */
  body: unknown;
  /** HTTP status of the answer; absent when nothing was sent or nothing came back. */
  status?: number;
  /** Answer body: parsed JSON, or the raw text when it was not JSON. */
  response?: unknown;
  /** Why the call failed or why its answer was refused. */
  error?: string;
}

export interface MerchantClientOptions {
  /** Merchant base URL without trailing slash; undefined → calls are recorded, not sent. */
  baseUrl: string | undefined;
  merchantId: string;
  signal: AbortSignal;
  logger: Logger;
}

const CALL_TIMEOUT_MS = 10_000;

/**
 * PBG's calls to the merchant (purchase_create.json, inventory_status.json). Every call is
 * recorded before it is sent, so a test can see what PBG asked even when the merchant is down.
 */
export class MerchantClient {
  readonly records: CallbackRecord[] = [];

  constructor(private readonly options: MerchantClientOptions) {}

  /** Whether calls actually go out. */
  get sends(): boolean {
    return this.options.baseUrl !== undefined;
  }

  /** The full URL of a merchant path; every PBG → merchant URL in the document carries merchant_id. */
  url(path: string): string | undefined {
    const { baseUrl, merchantId } = this.options;
    if (baseUrl === undefined) return undefined;
    return `${baseUrl}${path}?merchant_id=${encodeURIComponent(merchantId)}`;
  }

  /**
   * POSTs `body` to `path` and returns the record, with status/response filled in when an answer
   * came and `error` when none did. Never throws: callers judge the answer.
   */
  async call(path: string, body: unknown): Promise<CallbackRecord> {
    const record: CallbackRecord = { path, body };
    this.records.push(record);
    const url = this.url(path);
    if (url === undefined) return record;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([this.options.signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]),
      });
      record.status = res.status;
      const text = await res.text();
      try {
        record.response = JSON.parse(text) as unknown;
      } catch {
        record.response = text;
      }
    } catch (error) {
      record.error = `could not reach the merchant at ${path}: ${
        error instanceof Error ? error.message : String(error)
      }`;
      this.options.logger.warn({ path, error: record.error }, 'PBG sandbox: merchant call failed');
    }
    return record;
  }
}
