import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const ISSUER = 'https://issuer.test/';
export const AUDIENCE = 'payments-subgraph';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface TokenClaims {
  scope?: string | string[];
  iss?: string;
  aud?: string;
  /** Seconds from now; negative for a token that has expired; null for no `exp`. @default 300 */
  expiresIn?: number | null;
  /** `iat` this many seconds from now (positive: issued in the future). @default 0 */
  issuedIn?: number;
  /** `nbf` this many seconds from now. @default none */
  notBeforeIn?: number;
}

/** An identity provider's key set over real HTTP, and tokens signed by its keys. */
export interface JwksServer {
  /** e.g. http://127.0.0.1:PORT/.well-known/jwks.json */
  url: string;
  /** How many times the key set was fetched. */
  readonly fetches: number;
  /** A signed JWT; by the current key unless `key` says which. */
  sign(claims?: TokenClaims, key?: SigningKey): Promise<string>;
  /** The current key (e.g. to sign with a key after it was rotated out). */
  readonly current: SigningKey;
  /** A new key with a new `kid` replaces the published one. */
  rotate(): Promise<SigningKey>;
  /** Env for startTestApp that turns verification on against this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, jwk };
}

export async function startJwksServer(): Promise<JwksServer> {
  let current = await newKey();
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [current.jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/.well-known/jwks.json`;
  return {
    url,
    get fetches() {
      return fetches;
    },
    get current() {
      return current;
    },
    async sign(claims = {}, key = current) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims.scope === undefined ? {} : { scope: claims.scope })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .setIssuer(claims.iss ?? ISSUER)
        .setAudience(claims.aud ?? AUDIENCE)
        .setSubject('router-user-1')
        .setIssuedAt(now + (claims.issuedIn ?? 0));
      if (claims.expiresIn !== null) jwt.setExpirationTime(now + (claims.expiresIn ?? 300));
      if (claims.notBeforeIn !== undefined) jwt.setNotBefore(now + claims.notBeforeIn);
      return jwt.sign(key.privateKey);
    },
    async rotate() {
      current = await newKey();
      return current;
    },
    env: {
      AUTH_JWKS_URL: url,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      // Tests rotate keys on purpose; production keeps jose's 30 s guard against refetch storms.
      AUTH_JWKS_COOLDOWN_MS: '0',
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
