import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLEnumType,
  GraphQLInt,
  type GraphQLResolveInfo,
} from 'graphql';
import { isTerminalBatchStatus, type CollectBatchStatus } from '../../src/chillr/types.js';
import { isFinal } from '../../src/purchase/lifecycle.js';
import type { GroupPurchaseStatus } from '../../src/pbg/types.js';

/**
 * Cache hints (`@cacheControl` and `info.cacheControl`), read by Apollo Server's cache-control
 * plugin, which turns them into the response's `Cache-Control` header; routers combine the
 * subgraphs' headers, and this service's own response cache (src/http/plugin/response-cache/)
 * stores only what they call cacheable.
 *
 * The rule: what cannot change any more — a TERMINAL Chillr batch (COMPLETED, EXPIRED), a
 * PayByGroup purchase in a final status (REFUNDED, CANCELLED, EXPIRED) — may be kept for
 * {@link IMMUTABLE_MAX_AGE_SECONDS}; everything else changes any second and is `no-store`
 * (max-age 0, Apollo's default for every root field and every field returning an object).
 *
 * Scope is PRIVATE everywhere. Everything in this graph is one merchant's money: who paid, how
 * much, to whom. It is behind the router secret and, with AUTH_JWKS_URL, behind JWT scopes the
 * subgraph checks per request. A PUBLIC answer may be stored by a shared cache (a CDN, a
 * router's entity cache without a per-user key) and handed to whoever sends the same query —
 * past the scope check that refused them here. PRIVATE tells shared caches not to store it,
 * and tells caches that key per caller (Apollo Router's `private_id`, this service's own
 * response cache, which keys on the Authorization header) that they may.
 */

/**
 * How long an answer about data that cannot change may be kept: a day. Not longer, because
 * "cannot change" has one known exception — a batch created here whose record (name, amounts)
 * was still in the outbox when it was first read shows `name: null` until the record lands —
 * and a day bounds how long such an answer can linger in a cache.
 */
export const IMMUTABLE_MAX_AGE_SECONDS = 86_400;

/**
 * The directive and its scope enum, as Apollo documents for subgraphs (`enum CacheControlScope`
 * and `directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean)
 * on FIELD_DEFINITION | OBJECT | INTERFACE | UNION`). Given to type-graphql's buildSchema as a
 * real directive, so the printed SDL declares both and prints `scope: PRIVATE` as the enum
 * value the cache-control plugin reads (printed from a bare `@Directive` string it would come
 * out as the string "PRIVATE", which the plugin ignores).
 */
export const cacheControlDirective = new GraphQLDirective({
  name: 'cacheControl',
  description: "Apollo Server's cache hint: how long a response may be cached, and by whom",
  locations: [
    DirectiveLocation.FIELD_DEFINITION,
    DirectiveLocation.OBJECT,
    DirectiveLocation.INTERFACE,
    DirectiveLocation.UNION,
  ],
  args: {
    maxAge: { type: GraphQLInt },
    scope: {
      type: new GraphQLEnumType({
        name: 'CacheControlScope',
        description: 'Whether a cached response may be shared between users (PUBLIC) or not',
        values: { PUBLIC: {}, PRIVATE: {} },
      }),
    },
    inheritMaxAge: { type: GraphQLBoolean },
  },
});

/** On the entity types: whatever maxAge a field returning them ends up with, scope PRIVATE. */
export const PRIVATE_SCOPE = '@cacheControl(scope: PRIVATE)';
/** On value types nested in an entity (Money, a payment, a summary): the parent's maxAge. */
export const INHERIT_MAX_AGE = '@cacheControl(inheritMaxAge: true)';
/** On a field read from state that mutations change (a purchase's offer inventory). */
export const NEVER_CACHE = '@cacheControl(maxAge: 0)';

/** The part of Apollo's `info.cacheControl` used here (absent over graphql-ws). */
interface CacheControlInfo {
  cacheControl?: {
    cacheHint: { restrict(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void };
  };
}

/**
 * The dynamic hint of a field that returned `value`: kept for a day when `immutable`, else
 * max-age 0. `restrict` (never `replace`): `_entities` resolves many representations under
 * one field, and the field must end at the shortest of their lifetimes — one pending batch
 * among terminal ones makes the whole answer `no-store`.
 */
function hintImmutable(info: GraphQLResolveInfo, immutable: boolean): void {
  (info as unknown as CacheControlInfo).cacheControl?.cacheHint.restrict({
    maxAge: immutable ? IMMUTABLE_MAX_AGE_SECONDS : 0,
    scope: 'PRIVATE',
  });
}

/**
 * The hint for one Chillr batch as `collectBatch` or `_entities` returns it: a terminal batch
 * cannot change; an active one, or an id not found (it may exist later), can.
 */
export function hintBatch(
  info: GraphQLResolveInfo,
  batch: { status: CollectBatchStatus } | null,
): void {
  hintImmutable(info, batch !== null && isTerminalBatchStatus(batch.status));
}

/** The hint for one purchase: final statuses (src/purchase/lifecycle.ts) cannot change. */
export function hintPurchase(
  info: GraphQLResolveInfo,
  purchase: { status: GroupPurchaseStatus } | null,
): void {
  hintImmutable(info, purchase !== null && isFinal(purchase.status));
}
