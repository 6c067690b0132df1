/**
 * What the bench and its children agree on: the upstream credentials the simulators accept and
 * the project is configured with (bench-only values, not secrets), the router secret, and a
 * small HTTP client for GraphQL and change pushes.
 */

export const BENCH_CREDENTIALS = {
  chillrApiKey: 'bench-chillr-key-3c9e1a7f5b2d',
  chillrApiSecretKey: 'bench-chillr-secret-8d1f4b6a0e3c',
  pbgApiKey: 'bench-pbg-key-6a2e9c4f1b7d',
  pbgMerchantId: 'ABC',
  /** 32 printable ASCII characters, as PayByGroup issues them. */
  pbgMerchantAuth: 'bench-pbg-auth-Zr8Kq3Wm6Xv1Nt5Yp',
} as const;

/** Sent by every bench request (the project refuses /graphql without it; L and W ignore it). */
export const ROUTER_HEADER = 'router-authorization';
export const ROUTER_SECRET = 'bench-router-secret-5e7b2c9d4a1f';

export const GRAPHQL_HEADERS = {
  'content-type': 'application/json',
  [ROUTER_HEADER]: ROUTER_SECRET,
};

export interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: unknown[];
}

/** POSTs one operation; throws on a non-200 answer or GraphQL errors (the bench's setup must work). */
export async function gql(
  baseUrl: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: GRAPHQL_HEADERS,
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const answer = JSON.parse(text) as GraphQLAnswer;
  if (response.status !== 200 || answer.errors || !answer.data) {
    throw new Error(`GraphQL ${response.status}: ${text.slice(0, 500)}`);
  }
  return answer.data;
}

/** A PayByGroup change push, as PayByGroup sends it; resolves with the status and body text. */
export async function changePush(
  baseUrl: string,
  events: unknown[],
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${baseUrl}/pbg/change_push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ merchant_auth: BENCH_CREDENTIALS.pbgMerchantAuth, events }),
  });
  return { status: response.status, text: await response.text() };
}

/** PayByGroup's acknowledgement: a 200 whose JSON body has `result: true` (and no refusals). */
export function acknowledged(status: number, text: string): boolean {
  try {
    const body = JSON.parse(text) as { result?: unknown; refused?: unknown };
    return status === 200 && body.result === true && body.refused === undefined;
  } catch {
    return false;
  }
}

/** A point in time every bench process reads alike: ms since the epoch, sub-ms precise. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}
