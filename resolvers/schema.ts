import 'reflect-metadata';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema, createResolversMap, type PubSub } from 'type-graphql';
import { resolveCollectBatchReference } from './collect/collect-batch.reference.js';
import {
  CollectBatchResolver,
  CreateCollectBatchPayloadResolver,
} from './collect/collect.resolver.js';
import { cacheControlDirective } from './common/cache-control.js';
import { FEDERATION_DEFINITIONS } from './common/federation-definitions.js';
import { DateTimeScalar } from './common/scalars.js';
import { LiveResolver } from './live/live.resolver.js';
import { resolveGroupPurchaseReference } from './purchase/group-purchase.reference.js';
import { PurchaseOfferResolver } from './purchase/offer.resolver.js';
import {
  GroupPurchaseResolver,
  PurchaseActionPayloadResolver,
} from './purchase/purchase.resolver.js';

/** The Federation 2 features this subgraph uses; printed at the top of schema.graphql. */
export const FEDERATION_LINK =
  'extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@authenticated", "@requiresScopes", "@cost", "@listSize"])';

const resolvers = [
  CollectBatchResolver,
  CreateCollectBatchPayloadResolver,
  GroupPurchaseResolver,
  PurchaseActionPayloadResolver,
  PurchaseOfferResolver,
  LiveResolver,
] as const;

/** `__resolveReference` of every entity, by type name. */
const referenceResolvers = {
  CollectBatch: { __resolveReference: resolveCollectBatchReference },
  GroupPurchase: { __resolveReference: resolveGroupPurchaseReference },
};

/**
 * The subgraph SDL: type-graphql's schema printed with its directives, under the federation
 * `@link`. This is what `npm run schema` writes to schema.graphql and what codegen reads.
 */
export async function buildSubgraphSdl(): Promise<string> {
  const schema = await buildTypeGraphQLSchema(createPubSub());
  return `${FEDERATION_LINK}\n\n${FEDERATION_DEFINITIONS}\n\n${printSchemaWithDirectives(schema)}\n`;
}

/**
 * The executable federated schema: type-graphql resolvers + reference resolvers.
 * `pubSub` carries the events subscriptions listen to (in-process or Redis).
 */
export async function buildFederatedSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  const schema = await buildTypeGraphQLSchema(pubSub);
  const sdl = `${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`;
  const resolverMap = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  for (const [typeName, extra] of Object.entries(referenceResolvers)) {
    resolverMap[typeName] = { ...resolverMap[typeName], ...extra };
  }
  return buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolverMap as never }]);
}

/**
 * What each root type is for. type-graphql has no option for it; generic schema linters
 * (graphql-eslint's require-description) want one.
 */
const ROOT_DESCRIPTIONS = {
  Query: 'Reads: Chillr batches, PayByGroup purchases, the change log and the offer catalog',
  Mutation: 'Writes: money-moving actions (with idempotency keys) and the offer catalog',
  Subscription: 'Live updates: purchase changes from the change log, batch status polls',
} as const;

async function buildTypeGraphQLSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  const schema = await buildTypeGraphQLSchemaBare(pubSub);
  for (const type of [
    schema.getQueryType(),
    schema.getMutationType(),
    schema.getSubscriptionType(),
  ]) {
    if (type) type.description = ROOT_DESCRIPTIONS[type.name as keyof typeof ROOT_DESCRIPTIONS];
  }
  return schema;
}

function buildTypeGraphQLSchemaBare(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    pubSub,
    // A JS Date returned anywhere is an instant: DateTime. Calendar days are strings.
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Federation adds the root types' `_entities`/`_service` later; type-graphql's own
    // check would reject the partial schema.
    skipCheck: true,
    // `@cacheControl` (Apollo's cache hints): declared so the SDL prints and validates it.
    directives: [cacheControlDirective],
    // Inputs are validated by the services, which report userErrors with field paths.
    validate: false,
  });
}
