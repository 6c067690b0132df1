import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupPurchaseChangedDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { startJwksServer, type JwksServer } from './helpers/jwks.js';
import { push, subscribe, untilLive } from './helpers/ws.js';

interface Reply {
  status: number;
  body: string;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions: Record<string, unknown> }>;
}

const CREATE = `mutation Create($input: CreateCollectBatchInput!) {
  createCollectBatch(input: $input) { batchId userErrors { code message } }
}`;
const REFUND = `mutation Refund($input: PurchaseActionInput!) {
  performPurchaseAction(input: $input) { accepted userErrors { code } }
}`;
const ENTITIES = `query Entities($r: [_Any!]!) {
  _entities(representations: $r) { ... on GroupPurchase { purchaseId status } }
}`;

function createInput(name: string) {
  return {
    input: {
      name,
      expiryDate: isoDateInDays(5),
      customers: [{ msisdn: '9447741462', amount: '10' }],
    },
  };
}

describe('token verification in the subgraph (AUTH_JWKS_URL)', () => {
  let jwks: JwksServer;
  let app: TestApp;
  const responses: string[] = [];
  const tokens: string[] = [];

  /** POSTs with `Authorization: Bearer <token>` when a token (or a raw header) is given. */
  async function call(
    query: string,
    variables: Record<string, unknown> = {},
    auth?: { token?: string; header?: string },
  ): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth?.token) tokens.push(auth.token);
    const header = auth?.header ?? (auth?.token ? `Bearer ${auth.token}` : undefined);
    if (header) headers.authorization = header;
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.text();
    responses.push(body);
    return { status: response.status, body, ...(JSON.parse(body) as object) };
  }

  const upstream = () => ({
    collect: app.sandbox.chillr!.calls.collect,
    status: app.sandbox.chillr!.calls.checkCollectStatus,
    query: app.sandbox.pbg!.calls.query,
    action: app.sandbox.pbg!.calls.action,
  });
  const codeOf = (reply: Reply) => reply.errors?.[0]?.extensions.code;

  beforeAll(async () => {
    jwks = await startJwksServer();
    app = await startTestApp(jwks.env);
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
    // No token ever comes back in a response or goes to the log.
    for (const token of tokens) {
      for (const text of [...responses, ...app.logs]) expect(text).not.toContain(token);
    }
    for (const secret of Object.values(TEST_SECRETS))
      for (const text of responses) expect(text).not.toContain(secret);
  });

  it('should refuse a mutation without a token as UNAUTHENTICATED before any upstream call', async () => {
    const before = upstream();
    const reply = await call(CREATE, createInput('no token'));
    expect(codeOf(reply), reply.body).toBe('UNAUTHENTICATED');
    expect(reply.status).toBe(401);
    expect(reply.errors![0]!.message).toMatch(/needs a bearer token/);
    expect(reply.data ?? null).toBeNull();
    expect(upstream()).toEqual(before);
  });

  it('should refuse a mutation with only payments:read as FORBIDDEN before any upstream call', async () => {
    const token = await jwks.sign({ scope: 'payments:read' });
    const before = upstream();
    const created = await call(CREATE, createInput('read only'), { token });
    expect(codeOf(created), created.body).toBe('FORBIDDEN');
    expect(created.status).toBe(403);
    expect(created.errors![0]!.extensions.requiredScopes).toEqual([['payments:write']]);
    expect(created.errors![0]!.message).toBe(
      'This operation needs the scope payments:write; the token carries payments:read.',
    );
    const refund = await call(
      REFUND,
      { input: { purchaseId: 'ABC_98765', action: 'REFUND', idempotencyKey: 'k-read-only' } },
      { token },
    );
    expect(codeOf(refund), refund.body).toBe('FORBIDDEN');
    expect(upstream()).toEqual(before);
  });

  it('should run a mutation with payments:write', async () => {
    const token = await jwks.sign({ scope: 'payments:write' });
    const before = upstream();
    const reply = await call(CREATE, createInput('write scope'), { token });
    expect(reply.errors, reply.body).toBeUndefined();
    expect((reply.data!.createCollectBatch as { batchId: string }).batchId).toBeTruthy();
    expect(upstream().collect).toBe(before.collect + 1);
  });

  it('should need payments:read as well to select the batch a mutation returns', async () => {
    const query = `mutation Create($input: CreateCollectBatchInput!) {
      createCollectBatch(input: $input) { batch { id status } }
    }`;
    const before = upstream();
    const writeOnly = await jwks.sign({ scope: 'payments:write' });
    const refused = await call(query, createInput('write only, reads batch'), { token: writeOnly });
    expect(codeOf(refused), refused.body).toBe('FORBIDDEN');
    expect(upstream()).toEqual(before);
    // The scope claim as an array works the same as a space-separated string.
    const both = await jwks.sign({ scope: ['payments:write', 'payments:read'] });
    const served = await call(query, createInput('write and read'), { token: both });
    expect(served.errors, served.body).toBeUndefined();
  });

  it('should guard queries and _entities with payments:read', async () => {
    const before = upstream();
    const anonymous = await call('{ collectBatch(id: "B1") { id } }');
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    const representations = { r: [{ __typename: 'GroupPurchase', purchaseId: 'ABC_12345' }] };
    const entities = await call(ENTITIES, representations);
    expect(codeOf(entities)).toBe('UNAUTHENTICATED');
    const writer = await jwks.sign({ scope: 'payments:write' });
    expect(codeOf(await call(ENTITIES, representations, { token: writer }))).toBe('FORBIDDEN');
    expect(upstream()).toEqual(before);

    const reader = await jwks.sign({ scope: 'payments:read' });
    const served = await call(ENTITIES, representations, { token: reader });
    expect(served.errors, served.body).toBeUndefined();
    expect(served.data!._entities).toEqual([{ purchaseId: 'ABC_12345', status: 'PENDING' }]);
  });

  it('should let an operation that touches no guarded field through without a token', async () => {
    const reply = await call('{ __typename }');
    expect(reply.errors).toBeUndefined();
    expect(reply.data).toEqual({ __typename: 'Query' });
  });

  it('should refuse a token from another issuer, for another audience, expired, forged or malformed', async () => {
    const before = upstream();
    const other = await startJwksServer();
    try {
      const cases: Array<[string, { token?: string; header?: string }, RegExp]> = [
        [
          'issuer',
          { token: await jwks.sign({ scope: 'payments:write', iss: 'https://evil.test/' }) },
          /another issuer/,
        ],
        [
          'audience',
          { token: await jwks.sign({ scope: 'payments:write', aud: 'another-api' }) },
          /another audience/,
        ],
        [
          'expired',
          { token: await jwks.sign({ scope: 'payments:write', expiresIn: -60 }) },
          /expired/,
        ],
        [
          'foreign key',
          { token: await other.sign({ scope: 'payments:write' }) },
          /no known key|signature/,
        ],
        ['not a JWT', { token: 'not.a.jwt' }, /not a valid signed JWT/],
        ['not Bearer', { header: 'Basic dXNlcjpwYXNz' }, /must be "Bearer <token>"/],
      ];
      for (const [label, auth, message] of cases) {
        const reply = await call(CREATE, createInput(`bad token: ${label}`), auth);
        expect(codeOf(reply), `${label}: ${reply.body}`).toBe('UNAUTHENTICATED');
        expect(reply.errors![0]!.message, label).toMatch(message);
      }
      // A bad token is refused even where no token is needed.
      const bad = await call('{ __typename }', {}, { token: 'not.a.jwt' });
      expect(codeOf(bad)).toBe('UNAUTHENTICATED');
    } finally {
      await other.close();
    }
    expect(upstream()).toEqual(before);
  });

  it('should require exp, and apply the 5 s leeway to exp, nbf and a future iat', async () => {
    const before = upstream();
    const read = '{ groupPurchases { purchaseId } }';
    const refused: Array<[string, Parameters<JwksServer['sign']>[0], RegExp]> = [
      ['no exp', { expiresIn: null }, /no expiry \("exp" claim\)/],
      ['exp 30 s ago', { expiresIn: -30 }, /expired/],
      ['nbf 30 s ahead', { notBeforeIn: 30 }, /not valid yet/],
      ['iat 30 s ahead', { issuedIn: 30 }, /issued in the future/],
    ];
    for (const [label, claims, message] of refused) {
      const token = await jwks.sign({ scope: 'payments:read', ...claims });
      const reply = await call(read, {}, { token });
      expect(codeOf(reply), `${label}: ${reply.body}`).toBe('UNAUTHENTICATED');
      expect(reply.errors![0]!.message, label).toMatch(message);
    }
    expect(upstream()).toEqual(before);
    // Within the leeway: clocks 2 s apart are not an attack.
    for (const claims of [{ expiresIn: -2 }, { notBeforeIn: 2 }, { issuedIn: 2 }]) {
      const token = await jwks.sign({ scope: 'payments:read', ...claims });
      const reply = await call(read, {}, { token });
      expect(reply.errors, `${JSON.stringify(claims)}: ${reply.body}`).toBeUndefined();
    }
  });

  it('should cache the key set and fetch it again for a new kid (rotation)', async () => {
    const reader = await jwks.sign({ scope: 'payments:read' });
    const query = '{ purchaseOffer(purchaseId: "P1") { purchaseId } }';
    expect((await call(query, {}, { token: reader })).errors).toBeUndefined();
    const fetchesBefore = jwks.fetches;
    for (let i = 0; i < 3; i++) {
      const again = await call(query, {}, { token: await jwks.sign({ scope: 'payments:read' }) });
      expect(again.errors).toBeUndefined();
    }
    expect(jwks.fetches).toBe(fetchesBefore);

    const old = jwks.current;
    await jwks.rotate();
    const rotated = await call(query, {}, { token: await jwks.sign({ scope: 'payments:read' }) });
    expect(rotated.errors, rotated.body).toBeUndefined();
    expect(jwks.fetches).toBe(fetchesBefore + 1);
    // The retired key is no longer published: its tokens are refused.
    const retired = await call(
      query,
      {},
      { token: await jwks.sign({ scope: 'payments:read' }, old) },
    );
    expect(codeOf(retired)).toBe('UNAUTHENTICATED');
  });

  it('should refuse tokens (and keep serving) while the key set cannot be fetched', async () => {
    const gone = await startJwksServer();
    const token = await gone.sign({ scope: 'payments:write payments:read' });
    tokens.push(token);
    await gone.close();
    const orphan = await startTestApp(gone.env);
    try {
      const response = await fetch(`${orphan.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: CREATE, variables: createInput('keys unreachable') }),
      });
      const body = await response.text();
      responses.push(body);
      const reply = JSON.parse(body) as Reply;
      expect(codeOf(reply), body).toBe('UNAUTHENTICATED');
      expect(reply.errors![0]!.message).toMatch(/signing keys could not be fetched/);
      expect(orphan.sandbox.chillr!.calls.collect).toBe(0);
      expect((await fetch(`${orphan.url}/healthz`)).status).toBe(200);
      expect(orphan.logs.some((line) => line.includes('JWKS unavailable'))).toBe(true);
      for (const line of orphan.logs) expect(line).not.toContain(token);
    } finally {
      await orphan.close();
    }
  });

  describe('over graphql-ws', () => {
    function wsClient(options: { init?: string; header?: string } = {}): Client {
      const header = options.header;
      class WithHeader extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, header ? { headers: { authorization: header } } : {});
        }
      }
      return createClient({
        url: `${app.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WithHeader,
        lazy: false,
        retryAttempts: 0,
        connectionParams: options.init ? { authorization: options.init } : undefined,
      });
    }

    async function receivesPush(client: Client, purchaseId: string): Promise<void> {
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: [purchaseId] },
      });
      try {
        await untilLive(client, app);
        const pushed = await push(app, {
          merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
          events: [{ purchase_id: purchaseId, status: 'pending', num_people: 3 }],
        });
        expect(pushed.json).toEqual({ result: true });
        const [event] = await live.waitFor(1);
        expect(event!.groupPurchaseChanged.purchase.purchaseId).toBe(purchaseId);
      } finally {
        live.stop();
      }
    }

    it('should serve a subscription with the token in connection_init', async () => {
      const token = await jwks.sign({ scope: 'payments:read' });
      tokens.push(token);
      const client = wsClient({ init: `Bearer ${token}` });
      try {
        await receivesPush(client, 'WS_INIT_1');
      } finally {
        await client.dispose();
      }
    });

    it('should serve a subscription with the token in the upgrade request header', async () => {
      const token = await jwks.sign({ scope: 'payments:read' });
      tokens.push(token);
      const client = wsClient({ header: `Bearer ${token}` });
      try {
        await receivesPush(client, 'WS_HEADER_1');
      } finally {
        await client.dispose();
      }
    });

    it('should refuse a subscription without a token, with a bad one, or without the scope', async () => {
      const writer = await jwks.sign({ scope: 'payments:write' });
      const expired = await jwks.sign({ scope: 'payments:read', expiresIn: -60 });
      tokens.push(writer, expired);
      const cases: Array<[string, Client, string]> = [
        ['no token', wsClient(), 'UNAUTHENTICATED'],
        ['expired', wsClient({ init: `Bearer ${expired}` }), 'UNAUTHENTICATED'],
        ['write scope only', wsClient({ init: `Bearer ${writer}` }), 'FORBIDDEN'],
      ];
      for (const [label, client, code] of cases) {
        try {
          const live = subscribe(client, GroupPurchaseChangedDocument, {});
          await live.done;
          expect(live.events, label).toEqual([]);
          const errors = live.errors as Array<Array<{ extensions?: { code?: string } }>>;
          expect(JSON.stringify(errors), label).toContain(`"code":"${code}"`);
          expect(JSON.stringify(errors), label).not.toContain('"http"');
        } finally {
          await client.dispose();
        }
      }
    });
  });
});
