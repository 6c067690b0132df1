/**
 * The Federation directives this subgraph declares for a router to enforce: who may run what
 * (`@authenticated`, `@requiresScopes`) and what it costs (`@cost`, `@listSize`, Federation
 * 2.9 demand control). Attached with type-graphql's `@Directive(...)`; imported in
 * FEDERATION_LINK (resolvers/schema.ts). The subgraph itself enforces the scope rules from the
 * same directives when AUTH_JWKS_URL is set (src/http/plugin/auth/), so these strings are the
 * one source of truth. docs/behind-a-router.md lists every weight.
 */

/** Reads: every root Query and Subscription field, and the entity types (`_entities`). */
export const READ_SCOPE = 'payments:read';
/** Writes: every mutation. */
export const WRITE_SCOPE = 'payments:write';

export const AUTHENTICATED = '@authenticated';
export const REQUIRES_READ = `@requiresScopes(scopes: [["${READ_SCOPE}"]])`;
export const REQUIRES_WRITE = `@requiresScopes(scopes: [["${WRITE_SCOPE}"]])`;

/**
 * Demand-control weights, in one table so they stay comparable. The router's defaults are 1
 * per object and 0 per scalar or enum; a field's `@cost` replaces its type's, and a list
 * multiplies by its `@listSize`.
 */
export const COST = {
  /** Money-moving mutation: one upstream call that may move money, plus idempotency bookkeeping. */
  moneyMutation: 20,
  /** One upstream REST call (a Chillr status check, a PayByGroup query), per object. */
  upstreamCall: 10,
  /** A write to this service's own store (keyv). */
  storeWrite: 5,
  /** A read from this service's own store, batched per request by a DataLoader. */
  storeRead: 2,
  /** An object already in memory (a pushed event, an item of a list read in one call). */
  inMemory: 1,
} as const;

/** Assumed list lengths for `@listSize` where nothing in the request bounds them. */
export const LIST_SIZE = {
  /** `groupPurchases`: one PayByGroup query; a merchant's matching purchases. */
  groupPurchases: 50,
  /** A batch's customers; Chillr batches go up to CHILLR_MAX_BATCH_SIZE (default 1000). */
  batchCustomers: 100,
  /** userErrors: usually a handful, one per bad customer at worst. */
  userErrors: 10,
  /** An input field path such as ["customers", "1", "msisdn"]. */
  fieldPath: 3,
  /** changedFields: status, commitDeadline, numPeople. */
  changedFields: 3,
} as const;

export function cost(weight: number): string {
  return `@cost(weight: ${weight})`;
}

export function listSize(assumedSize: number): string {
  return `@listSize(assumedSize: ${assumedSize})`;
}

/**
 * `@listSize` for a connection field (`edges` sized by `first`): the router multiplies by the
 * `first` a query passes, else by `assumedSize` (the size the resolver uses without it). Put it
 * on the field that returns the connection, e.g. `groupPurchaseChanges(first: Int)`:
 * `@Directive(pagedListSize('first', 'edges', 50))`. The slicing argument must have no default
 * value in the schema: WunderGraph Cosmo's composition refuses one beside `assumedSize` (test
 * /composition.test.ts composes under it); the resolver applies the default instead.
 */
export function pagedListSize(
  slicingArgument: string,
  sizedField: string,
  assumedSize: number,
): string {
  return `@listSize(assumedSize: ${assumedSize}, slicingArguments: ["${slicingArgument}"], sizedFields: ["${sizedField}"], requireOneSlicingArgument: false)`;
}
