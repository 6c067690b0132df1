import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from '../../../logger.js';
import { GraphQLError } from 'graphql';
import { unauthenticated } from './errors.js';
import type { AuthOptions } from './options.js';
import { VARIABLES } from '../../../config/variables.js';

/** Who a verified token speaks for, as far as the rules here care. */
export interface Principal {
  scopes: ReadonlySet<string>;
  /** `exp` in ms since the epoch (every accepted token has one). */
  expiresAt: number;
  /** The clock leeway in ms: the token is still accepted until `expiresAt` + this. */
  leewayMs: number;
}

export type TokenVerifier = (authorization: string | undefined) => Promise<Principal | undefined>;

/**
 * `Authorization: Bearer <jwt>` → a {@link Principal}, or `undefined` when no header came.
 * A header that is there but not a valid token throws UNAUTHENTICATED (whatever the
 * operation): a bad token is never treated as no token. Keys come from the JWKS URL through
 * jose's remote key set: cached, refetched on an unknown `kid` (rotation) after the cooldown.
 */
export function createTokenVerifier(options: AuthOptions, logger: Logger): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.jwksCooldownMs ?? VARIABLES.AUTH_JWKS_COOLDOWN_MS.default,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? VARIABLES.AUTH_JWKS_CACHE_MAX_AGE_MS.default,
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
  });
  const now = options.now ?? Date.now;
  return async (authorization) => {
    if (authorization === undefined || authorization.trim() === '') return undefined;
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
    if (!match) {
      throw unauthenticated('The Authorization header must be "Bearer <token>".');
    }
    const leewaySec = options.clockToleranceSec ?? 5;
    const at = now();
    try {
      // jose applies the leeway to exp and nbf; exp is required (a token without it would be
      // good forever). A future iat it checks only with maxTokenAge, which would require iat.
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: leewaySec,
        requiredClaims: ['exp'],
        currentDate: new Date(at),
      });
      if (typeof payload.iat === 'number' && payload.iat > at / 1000 + leewaySec) {
        throw unauthenticated(
          `The bearer token was refused: it was issued in the future ("iat" more than ${leewaySec} s ahead of this host's clock).`,
        );
      }
      return {
        scopes: scopesOf(payload),
        expiresAt: payload.exp! * 1000,
        leewayMs: leewaySec * 1000,
      };
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      const reason = refusalReason(error);
      if (reason.keySetUnavailable) logger.warn({ err: error }, 'JWKS unavailable; token refused');
      throw unauthenticated(`The bearer token was refused: ${reason.text}.`);
    }
  };
}

/** The `scope` claim: a space-separated string (RFC 8693) or an array of strings. */
export function scopesOf(payload: JWTPayload): Set<string> {
  const claim = payload.scope;
  const list =
    typeof claim === 'string'
      ? claim.split(/\s+/)
      : Array.isArray(claim)
        ? claim.filter((s): s is string => typeof s === 'string')
        : [];
  return new Set(list.filter(Boolean));
}

/** Why jose refused, in words safe to return (jose's messages never quote the token). */
function refusalReason(error: unknown): { text: string; keySetUnavailable?: boolean } {
  if (error instanceof joseErrors.JWTExpired) return { text: 'it has expired' };
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp' && error.reason === 'missing')
      return { text: 'it has no expiry ("exp" claim), which is required' };
    if (error.claim === 'nbf') return { text: 'it is not valid yet ("nbf" is in the future)' };
    if (error.claim === 'iss') return { text: 'it was issued by another issuer' };
    if (error.claim === 'aud') return { text: 'it is meant for another audience' };
    return { text: `its "${error.claim}" claim is not acceptable (${error.reason})` };
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) return { text: 'no known key signed it' };
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return { text: 'its signature does not verify' };
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError) {
    if (error instanceof joseErrors.JWKSTimeout || error.code === 'ERR_JWKS_INVALID')
      return { text: 'the signing keys could not be fetched', keySetUnavailable: true };
    return { text: 'it is not a valid signed JWT' };
  }
  // fetch() failures (the JWKS host down) are not JOSEErrors.
  return { text: 'the signing keys could not be fetched', keySetUnavailable: true };
}
