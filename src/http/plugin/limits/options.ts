/**
 * Per-operation limits, checked before anything executes (so before any upstream call), over
 * HTTP and over graphql-ws alike. Every value comes from src/config.ts, whose defaults (the
 * configuration table, src/config/variables.ts) leave the deepest, widest legitimate operation
 * (and a router's `_entities` call with thousands of representations, which are variables, not
 * document) plenty of room.
 */
export interface OperationLimitsOptions {
  /**
   * Most aliased fields in one operation (`__typename` aliases are free). Ten thousand
   * aliases over distinct ids would be ten thousand upstream calls. `GRAPHQL_MAX_ALIASES`.
   */
  maxAliases: number;
  /**
   * Deepest field nesting (fragments do not add depth). The deepest useful query here is 5
   * (`createCollectBatch { batch { summary { amountPaid { amount } } } }`). `GRAPHQL_MAX_DEPTH`.
   */
  maxDepth: number;
  /**
   * Most lexical tokens in one document, checked while parsing, before validation. Send large
   * inputs (a batch's customers) as variables: variables are not tokens. `GRAPHQL_MAX_TOKENS`.
   */
  maxTokens: number;
  /**
   * Largest cost by the schema's `@cost`/`@listSize` directives, with the operation's
   * variables (src/http/plugin/limits/cost.ts): the router's static estimate, so the same
   * budget holds in both. `GRAPHQL_MAX_COST`.
   */
  maxCost: number;
  /**
   * Most `_entities` representations in one operation (all `_entities` fields together). Each
   * one can be an upstream call. `GRAPHQL_MAX_ENTITIES`.
   */
  maxEntities: number;
  /**
   * Most directives in one operation.
   * @default 50
   */
  maxDirectives?: number;
  /**
   * Removes "Did you mean …" suggestions from every error (they map the schema for a caller
   * that has no introspection).
   * @default true in production, else false
   */
  hideSuggestions: boolean;
}

/** The variable that sets each limit, named in every refusal. */
export const LIMIT_VARIABLES = {
  maxAliases: 'GRAPHQL_MAX_ALIASES',
  maxDepth: 'GRAPHQL_MAX_DEPTH',
  maxTokens: 'GRAPHQL_MAX_TOKENS',
  maxCost: 'GRAPHQL_MAX_COST',
  maxEntities: 'GRAPHQL_MAX_ENTITIES',
  maxDirectives: 'maxDirectives',
} as const;

export const DEFAULT_MAX_DIRECTIVES = 50;
