import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { refusedByGuard, type UpstreamGuard } from './guard.js';

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
  /**
   * The upstream's bulkhead and circuit breaker; every attempt runs under it.
   * @default none (no limit, no breaker)
   */
  guard?: UpstreamGuard;
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
  const retries = options.retries ?? 0;
  const attempt = (n: number) => {
    const once = () => attemptOnce(options, n);
    return options.guard ? options.guard.run(once) : once();
  };
  if (retries === 0) return attempt(1);
  // cockatiel's retry with exponential backoff and jitter; a call the guard refused (circuit
  // open, queue full) is not retried, since nothing was sent and the next try would be refused too.
  const policy = retry(handleWhen(isRetryable), {
    maxAttempts: retries,
    backoff: new ExponentialBackoff({ initialDelay: options.backoffMs ?? 100 }),
  });
  return policy.execute(({ attempt: retry }) => attempt(retry + 1));
}

/** One POST: the parsed answer, or a classified {@link ServiceError}. */
async function attemptOnce(options: PostJsonOptions, attempt: number): Promise<JsonResponse> {
  const { upstream, url, timeoutMs, logger } = options;
  const path = new URL(url).pathname;
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const ms = Math.round(performance.now() - started);
    logger.debug({ upstream, path, status: response.status, ms, attempt }, 'upstream call');
    return readAnswer(options, response.status, text);
  } catch (error) {
    const failure = classify(error, upstream, timeoutMs);
    logger.warn(
      { upstream, path, attempt, code: failure.code, err: failure.message },
      'upstream call failed',
    );
    throw failure;
  }
}

/** A 5xx, 401/403 or unreadable body becomes an error; any other status is the caller's. */
function readAnswer(options: PostJsonOptions, status: number, text: string): JsonResponse {
  const { upstream } = options;
  if (status >= 500) {
    throw new ServiceError(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      `${upstream} answered HTTP ${status}; try again later.`,
      { outcomeUnknown: true, upstreamAnswered: true },
    );
  }
  if (status === 401 || status === 403) {
    throw new ServiceError(
      ErrorCode.UPSTREAM_AUTH,
      `${upstream} rejected this server's credentials (HTTP ${status}); the operator must fix the configuration.`,
    );
  }
  try {
    return { status, json: parseWithRepair(text, options.repairJson) };
  } catch {
    throw new ServiceError(
      ErrorCode.UPSTREAM_BAD_RESPONSE,
      `${upstream} answered HTTP ${status} with a body that is not JSON (expected a JSON object; got ${describeText(text)}).`,
      { outcomeUnknown: true, upstreamAnswered: true },
    );
  }
}

function isRetryable(error: unknown): boolean {
  return (
    error instanceof ServiceError &&
    !refusedByGuard(error) &&
    (error.code === ErrorCode.UPSTREAM_TIMEOUT || error.code === ErrorCode.UPSTREAM_UNAVAILABLE)
  );
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
