import { ApolloArmor } from '@escape.tech/graphql-armor';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  GraphQLError,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from '../../../errors.js';
import type { OperationPlugin } from '../../pipeline/index.js';
import { operationCost } from './cost.js';
import { countRepresentations } from './entities.js';
import { hideSuggestions, withoutSuggestions } from '../suggestions.js';
import { DEFAULT_MAX_DIRECTIVES, LIMIT_VARIABLES, type OperationLimitsOptions } from './options.js';

export type { OperationLimitsOptions } from './options.js';

type Limit = keyof typeof LIMIT_VARIABLES;

const OUR_LIMITS = new Set<unknown>(Object.values(LIMIT_VARIABLES));

/** What graphql-armor found, e.g. "Aliases limit of 30 exceeded, found 10000." */
function armorFinding(error: GraphQLError): string {
  return error.message.replace(/^Syntax Error:\s*/, '').trim();
}

/** The one error every refused operation gets: which limit, its value, and what was found. */
export function limitExceeded(limit: Limit, max: number, finding: string): GraphQLError {
  const variable = LIMIT_VARIABLES[limit];
  return new GraphQLError(
    `Operation refused before execution: ${finding} The limit is ${variable}=${max}.`,
    {
      extensions: {
        code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
        limit: variable,
        max,
        http: { status: 400 },
      },
    },
  );
}

export interface OperationLimits {
  /** For `new ApolloServer({ validationRules })`: aliases, depth, directives. */
  validationRules: ValidationRule[];
  /** The token limit on a document's text, before it is parsed; the refusal, or undefined. */
  tokenRefusal(source: string): GraphQLError | undefined;
  /**
   * Parse with the token limit, validate with the standard rules and the limits: the checks
   * the pipeline runs, in one call (tools and tests).
   */
  check(
    schema: Parameters<typeof validate>[0],
    source: string,
  ): { document: DocumentNode; errors?: undefined } | { errors: GraphQLError[] };
  /**
   * The limits that need the variables (`_entities` representations, cost); the refusal, or
   * undefined.
   */
  checkVariables(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Readonly<Record<string, unknown>> | null | undefined,
  ): GraphQLError | undefined;
  /** Suggestions removed when configured; the errors otherwise as they are. */
  scrub<E extends { message: string }>(errors: readonly E[]): E[];
}

/** What the variable-dependent limits measure: `_entities` representations and cost. */
interface Measured {
  representations: number;
  cost: number;
}

/** Most variable sets remembered per operation; longer ones (as JSON) are measured each time. */
const MEASURED_PER_OPERATION = 16;
const MAX_REMEMBERED_VARIABLES_CHARS = 2_048;

/**
 * The measures of an operation, remembered per operation node (Apollo Server's document store
 * and graphql-ws hand the same parsed document for the same text) and variables: both walks
 * depend only on the schema, the document and the variables, so the same operation sent again
 * gets the same numbers without walking it again. Measured on the pending batch read and
 * `groupPurchases` under load: the cost walk was 2-4 % of the request's CPU (docs/behaviour.md,
 * "Reads and caching"). The numbers are kept, not the refusal: an error is rewritten in place
 * by the error hooks, so each request builds its own. Weakly held: a document the store drops
 * takes its entries with it.
 */
class MeasuredOperations {
  private readonly bySchema = new WeakMap<
    GraphQLSchema,
    WeakMap<OperationDefinitionNode, Map<string, Measured>>
  >();

  measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Readonly<Record<string, unknown>> | null | undefined,
  ): Measured {
    const key = variablesKey(operation, variables);
    let operations = this.bySchema.get(schema);
    if (!operations) this.bySchema.set(schema, (operations = new WeakMap()));
    const known = key === undefined ? undefined : operations.get(operation);
    const hit = key === undefined ? undefined : known?.get(key);
    if (hit) return hit;
    const measured = {
      representations: countRepresentations(document, operation, variables),
      cost: operationCost(schema, document, operation, variables),
    };
    if (key === undefined) return measured;
    const entries = known ?? new Map<string, Measured>();
    if (!known) operations.set(operation, entries);
    if (entries.size >= MEASURED_PER_OPERATION) entries.delete(entries.keys().next().value!);
    entries.set(key, measured);
    return measured;
  }
}

/** '' for an operation without variables; their JSON when short; else undefined (not kept). */
function variablesKey(
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): string | undefined {
  if (!operation.variableDefinitions?.length) return '';
  const json = JSON.stringify(variables ?? {});
  return json.length <= MAX_REMEMBERED_VARIABLES_CHARS ? json : undefined;
}

/** The limits that need the variables: representations, then cost (./cost.ts). */
function refusalWithVariables(
  options: OperationLimitsOptions,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  measured = new MeasuredOperations(),
): GraphQLError | undefined {
  if (!operation) return undefined;
  const { representations: found, cost } = measured.measure(schema, document, operation, variables);
  if (found > options.maxEntities) {
    return limitExceeded(
      'maxEntities',
      options.maxEntities,
      `_entities asked for ${found} representations.`,
    );
  }
  if (cost <= options.maxCost) return undefined;
  return limitExceeded(
    'maxCost',
    options.maxCost,
    `Query Cost limit of ${options.maxCost} exceeded, found ${cost}.`,
  );
}

export function createOperationLimits(options: OperationLimitsOptions): OperationLimits {
  const validationRules = armorRules(options);
  const withinTokens = new PassedDocuments();
  const tokenRefusal = (source: string) => {
    if (withinTokens.has(source)) return undefined;
    const refused = tokenLimitError(source, options.maxTokens);
    if (!refused) withinTokens.add(source);
    return refused;
  };
  const scrub = <E extends { message: string }>(errors: readonly E[]): E[] =>
    options.hideSuggestions ? errors.map(hideSuggestions) : [...errors];
  const variablesRefusal = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode | null | undefined,
    variables: Readonly<Record<string, unknown>> | null | undefined,
  ) => refusalWithVariables(options, schema, document, operation, variables);
  return {
    validationRules,
    scrub,
    checkVariables: (schema, document, operationName, variables) =>
      variablesRefusal(schema, document, getOperationAST(document, operationName), variables),
    tokenRefusal,
    check(schema, source) {
      const refused = tokenRefusal(source);
      if (refused) return { errors: [refused] };
      let document: DocumentNode;
      try {
        document = parse(source);
      } catch (error) {
        return { errors: scrub([error as GraphQLError]) };
      }
      const errors = validate(schema, document, [...specifiedRules, ...validationRules]);
      return errors.length > 0 ? { errors: scrub(errors) } : { document };
    },
  };
}

/**
 * The operation limits as one pipeline plugin, for HTTP and WebSocket alike: the token limit
 * on the text before it is parsed, graphql-armor's aliases, depth and directives beside the
 * standard validation rules, `_entities` representations and cost once the variables are
 * known — all before anything executes, so a refused operation never reaches an upstream.
 * Every refusal names the limit and its value; suggestions are hidden when configured.
 */
export function operationLimitsPlugin(options: OperationLimitsOptions): OperationPlugin {
  const limits = createOperationLimits(options);
  const measured = new MeasuredOperations();
  return {
    name: 'limits',
    onParse: limits.tokenRefusal,
    validationRules: limits.validationRules,
    onExecute: ({ schema, document, operation, variables }) =>
      refusalWithVariables(options, schema, document, operation, variables, measured),
    onError(error) {
      // Apollo re-codes validation errors GRAPHQL_VALIDATION_FAILED; a limit keeps its own.
      if (OUR_LIMITS.has(error.extensions.limit)) {
        (error as { extensions: Record<string, unknown> }).extensions = {
          ...error.extensions,
          code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
        };
      }
      if (options.hideSuggestions) error.message = withoutSuggestions(error.message);
    },
  };
}

/**
 * graphql-armor's validation rules, each reporting {@link limitExceeded} instead of its own
 * message. Its token limit is applied by {@link tokenLimitError} (it must run before parsing).
 */
function armorRules(options: OperationLimitsOptions): ValidationRule[] {
  const report = (limit: Limit, max: number) => ({
    n: max,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(limitExceeded(limit, max, armorFinding(error))),
    ],
  });
  const maxDirectives = options.maxDirectives ?? DEFAULT_MAX_DIRECTIVES;
  const { validationRules } = new ApolloArmor({
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    maxAliases: report('maxAliases', options.maxAliases),
    maxDepth: { ...report('maxDepth', options.maxDepth), flattenFragments: true },
    maxDirectives: report('maxDirectives', maxDirectives),
    // The cost limit needs the variables (a `first: $n`), so it runs after validation:
    // src/http/plugin/limits/cost.ts.
    costLimit: { enabled: false },
  }).protect();
  return validationRules as ValidationRule[];
}

/** Most documents {@link PassedDocuments} remembers. */
export const MAX_PASSED_DOCUMENTS = 1_000;
/** Most characters over all documents it remembers (2 MiB of UTF-16 at most). */
export const MAX_PASSED_CHARS = 1_048_576;

/**
 * Documents already found within the token limit, so the same document sent again is not
 * parsed again just to count its tokens. The count depends only on the text and the limit
 * (both fixed for this set), so a remembered document is one that would pass again: this is
 * the same check, done once per distinct text. Measured on the pending batch read under load:
 * the counting parse was about 4 % of the request's CPU (docs/behind-a-router.md, "Operation limits").
 * A refused document is not remembered (it stays refused, its parse stopped at the limit).
 * Least recently added out first, within {@link MAX_PASSED_DOCUMENTS} documents and
 * {@link MAX_PASSED_CHARS} characters; a longer document is checked every time.
 */
export class PassedDocuments {
  private readonly sources = new Set<string>();
  private chars = 0;

  constructor(
    private readonly maxDocuments = MAX_PASSED_DOCUMENTS,
    private readonly maxChars = MAX_PASSED_CHARS,
  ) {}

  has(source: string): boolean {
    return this.sources.has(source);
  }

  add(source: string): void {
    if (source.length > this.maxChars || this.sources.has(source)) return;
    this.sources.add(source);
    this.chars += source.length;
    while (this.sources.size > this.maxDocuments || this.chars > this.maxChars) {
      const oldest = this.sources.values().next().value!;
      this.sources.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}

/**
 * graphql-armor's token-counting parser, stopped at the first token past the limit, so a
 * 100,000-token document costs no more than a `maxTokens` one. Other syntax errors are left
 * to Apollo Server (or graphql-ws) to report as usual.
 */
function tokenLimitError(source: string | undefined, maxTokens: number): GraphQLError | undefined {
  if (source === undefined) return undefined;
  let exceeded = false;
  try {
    new MaxTokensParserWLexer(source, {
      n: maxTokens,
      onReject: [() => (exceeded = true)],
      propagateOnRejection: true,
      noLocation: true,
    }).parseDocument();
  } catch {
    // exceeded says whether this was the limit.
  }
  return exceeded
    ? limitExceeded('maxTokens', maxTokens, `Token limit of ${maxTokens} exceeded.`)
    : undefined;
}
