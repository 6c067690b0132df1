import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';

/**
 * A second subgraph, as another team would write it: shop orders that reference the payments
 * subgraph's entities by key only (`CollectBatch` by `id`, `GroupPurchase` by `purchaseId`).
 * `npm run supergraph` composes it with the payments subgraph behind Hive Gateway.
 */
export const ORDERS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

  "A shop order, paid through a Chillr collect batch or a PayByGroup group purchase."
  type Order @key(fields: "id") {
    id: ID!
    description: String!
    collectBatch: CollectBatch
    groupPurchase: GroupPurchase
  }

  type CollectBatch @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type GroupPurchase @key(fields: "purchaseId", resolvable: false) {
    purchaseId: ID!
  }

  input PlaceOrderInput {
    description: String!
    "The Chillr batch that collects this order's payment (from createCollectBatch)."
    collectBatchId: ID
    "The PayByGroup purchase that pays for it."
    purchaseId: ID
  }

  type Query {
    "Every order, or only those with these ids."
    orders(ids: [ID!]): [Order!]!
    order(id: ID!): Order
  }

  type Mutation {
    placeOrder(input: PlaceOrderInput!): Order!
  }
`;

interface OrderRecord {
  id: string;
  description: string;
  collectBatchId: string | null;
  purchaseId: string | null;
}

/** The demo's starting orders: they reference the sandbox's seeded batch and purchases. */
export const SEED_ORDERS: OrderRecord[] = [
  {
    id: 'ORD-1',
    description: 'Electricity bill, May 2016',
    collectBatchId: '5743fcb263686923fc0d0000',
    purchaseId: null,
  },
  {
    id: 'ORD-2',
    description: 'Whitmarsh Avenue stay',
    collectBatchId: null,
    purchaseId: 'ABC_12345',
  },
  { id: 'ORD-3', description: 'Lakehouse weekend', collectBatchId: null, purchaseId: 'ABC_98765' },
];

const MAX_DESCRIPTION = 200;

function view(order: OrderRecord) {
  return {
    id: order.id,
    description: order.description,
    collectBatch: order.collectBatchId === null ? null : { id: order.collectBatchId },
    groupPurchase: order.purchaseId === null ? null : { purchaseId: order.purchaseId },
  };
}

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export interface OrdersSubgraph {
  url: string;
  stop(): Promise<void>;
}

/** Starts the orders subgraph (in memory: orders placed are lost on stop). */
export async function startOrdersSubgraph(
  options: { port?: number; host?: string; orders?: OrderRecord[] } = {},
): Promise<OrdersSubgraph> {
  const orders = new Map((options.orders ?? SEED_ORDERS).map((o) => [o.id, { ...o }]));
  const resolvers = {
    Query: {
      orders: (_: unknown, { ids }: { ids?: string[] | null }) =>
        (ids ? ids.flatMap((id) => orders.get(id) ?? []) : [...orders.values()]).map(view),
      order: (_: unknown, { id }: { id: string }) => {
        const order = orders.get(id);
        return order ? view(order) : null;
      },
    },
    Mutation: {
      placeOrder: (
        _: unknown,
        {
          input,
        }: {
          input: {
            description: string;
            collectBatchId?: string | null;
            purchaseId?: string | null;
          };
        },
      ) => {
        const description = input.description.trim();
        if (description === '' || description.length > MAX_DESCRIPTION) {
          throw badInput(`description must be 1–${MAX_DESCRIPTION} characters`);
        }
        if (!input.collectBatchId && !input.purchaseId) {
          throw badInput('an order needs a collectBatchId or a purchaseId');
        }
        const order: OrderRecord = {
          id: `ORD-${randomUUID().slice(0, 8)}`,
          description,
          collectBatchId: input.collectBatchId?.trim() || null,
          purchaseId: input.purchaseId?.trim() || null,
        };
        orders.set(order.id, order);
        return view(order);
      },
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(ORDERS_SDL), resolvers }]),
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: options.port ?? 0, host: options.host ?? '127.0.0.1' },
  });
  return { url: url.replace(/\/$/, ''), stop: () => server.stop() };
}
