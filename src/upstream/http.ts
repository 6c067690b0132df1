import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface PostJsonOptions {
  /** Human name of the upstream, used in error messages ("Chillr", "PayByGroup"). */
  upstream: string;
  url: string;
  /** Serialised as JSON. Never logged: it carries credentials. */
  body: unknown;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /**
   * Extra attempts after the first, only for timeouts, refused connections and 5xx answers.
   * Pass 0 for calls that move money: a retried create could create twice.
   * @default 0
   */
  retries?: number;
  /** Base of the exponential backoff between attempts. @default 100 */
  backoffMs?: number;
  /**
   * Called with a body that is not JSON; may return a repaired text for a known upstream
   * quirk, or undefined to report UPSTREAM_BAD_RESPONSE.
   * @default undefined
   */
  repairJson?: (text: string) => string | undefined;
  logger: Logger;
}

export interface JsonResponse {
  status: number;
  json: unknown;
}

/**
 * POSTs JSON and returns the parsed JSON answer of any 2xx or 4xx status; the caller decides
 * what a 4xx means for its API. Everything that is not an answer the caller can interpret
 * becomes a {@link ServiceError}: a timeout, a refused connection or a 5xx
 * (`UPSTREAM_TIMEOUT`/`UPSTREAM_UNAVAILABLE`, retried when `retries` allows), 401/403
 * (`UPSTREAM_AUTH`) and a body that is not JSON (`UPSTREAM_BAD_RESPONSE`).
 */
export async function postJson(options: PostJsonOptions): Promise<JsonResponse> {
  const { upstream, url, timeoutMs, logger } = options;
  const retries = options.retries ?? 0;
  const backoffMs = options.backoffMs ?? 100;
  const path = new URL(url).pathname;
  const payload = JSON.stringify(options.body);

  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      const ms = Math.round(performance.now() - started);
      logger.debug({ upstream, path, status: response.status, ms, attempt }, 'upstream call');
      if (response.status >= 500) {
        throw new ServiceError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `${upstream} answered HTTP ${response.status}; try again later.`,
          { outcomeUnknown: true },
        );
      }
      if (response.status === 401 || response.status === 403) {
        throw new ServiceError(
          ErrorCode.UPSTREAM_AUTH,
          `${upstream} rejected this server's credentials (HTTP ${response.status}); the operator must fix the configuration.`,
        );
      }
      let json: unknown;
      try {
        json = parseWithRepair(text, options.repairJson);
      } catch {
        throw new ServiceError(
          ErrorCode.UPSTREAM_BAD_RESPONSE,
          `${upstream} answered HTTP ${response.status} with a body that is not JSON (expected a JSON object; got ${describeText(text)}).`,
          { outcomeUnknown: true },
        );
      }
      return { status: response.status, json };
    } catch (error) {
      const failure = classify(error, upstream, timeoutMs);
      const retryable =
        failure.code === ErrorCode.UPSTREAM_TIMEOUT ||
        failure.code === ErrorCode.UPSTREAM_UNAVAILABLE;
      logger.warn(
        { upstream, path, attempt, code: failure.code, err: failure.message },
        'upstream call failed',
      );
      if (!retryable || attempt > retries) throw failure;
      await sleep(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}

function parseWithRepair(text: string, repair?: (text: string) => string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const repaired = repair?.(text);
    if (repaired === undefined) throw error;
    return JSON.parse(repaired);
  }
}

function classify(error: unknown, upstream: string, timeoutMs: number): ServiceError {
  if (error instanceof ServiceError) return error;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ServiceError(
      ErrorCode.UPSTREAM_TIMEOUT,
      `${upstream} did not answer within ${timeoutMs} ms.`,
      { cause: error, outcomeUnknown: true },
    );
  }
  // Only a connection that was never made proves the request was not acted on; a reset
  // mid-request may come after the upstream did its work.
  const code = (error as { cause?: { code?: string } } | null)?.cause?.code;
  const neverConnected = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  return new ServiceError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `${upstream} could not be reached; try again later.`,
    { cause: error, outcomeUnknown: !neverConnected },
  );
}

function describeText(text: string): string {
  if (text.length === 0) return 'an empty body';
  return `${text.length} bytes starting ${JSON.stringify(text.slice(0, 40))}`;
}
