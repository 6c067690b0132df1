import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';
import { BENCH_CREDENTIALS } from '../wire.js';

/**
 * M's two sources, as a merchant would describe them to GraphQL Mesh in an afternoon: one
 * operation per REST call the read rows need, the request and response shapes written from
 * the two API documents (/work/shared/upstream/), and the credentials each upstream wants in
 * its JSON body injected with `requestBaseBody`. Nothing else: no validation, no mapping of
 * statuses or amounts, no caching, no dedupe.
 *
 * The credentials are the bench-only ones the simulators accept (bench/wire.ts), written into
 * the composed supergraph as constants: M composes at start, in its own process, and the
 * supergraph never leaves it.
 */

const string = { type: 'string' } as const;
const strings = { type: 'array', items: string } as const;

/**
 * Chillr's check_collect_status answer. `customers` mixes three kinds of element — a customer
 * with a transaction, one without ("Transaction not generated"), and the trailing
 * `{"non_chillr_customers": [...]}` the simulator sends where the document's sample is not
 * valid JSON — so one object type with every member optional covers them all.
 */
const collectStatusResponse = {
  type: 'object',
  title: 'CollectStatusResponse',
  properties: {
    status: string,
    status_code: { type: 'integer' },
    message: string,
    data: {
      type: 'object',
      title: 'CollectStatusData',
      properties: {
        batch_id: string,
        batch_status: string,
        customers: {
          type: 'array',
          items: {
            type: 'object',
            title: 'CollectCustomer',
            properties: {
              msisdn: string,
              payment_status: string,
              transaction_id: string,
              message: string,
              non_chillr_customers: strings,
            },
          },
        },
        reason: strings,
      },
    },
  },
} as const;

/** A group purchase as merch_get_purch_info.json lists it (the fields the bench selects and kin). */
const groupPurchase = {
  type: 'object',
  title: 'GroupPurchase',
  properties: {
    purchase_id: string,
    merchant_id: string,
    inventory_id: string,
    status: string,
    purchase_name: string,
    purchase_cost: string,
    cost_per_person: string,
    num_people: { type: 'integer' },
    num_paid: { type: 'integer' },
    commit_deadline: string,
    created_at: string,
  },
} as const;

const purchaseQueryRequest = {
  type: 'object',
  title: 'GroupPurchaseQuery',
  properties: {
    merchant_id: string,
    inventory_id: string,
    purchase_id: string,
    created_after: string,
    created_before: string,
    status: strings,
  },
} as const;

/** `Query.collectStatus(input: { batch_id })` → POST /api/v5/check_collect_status. */
export function chillrSource(endpoint: string) {
  return loadJSONSchemaSubgraph('Chillr', {
    endpoint,
    operations: [
      {
        type: 'Query',
        field: 'collectStatus',
        path: '/api/v5/check_collect_status',
        method: 'POST',
        requestSchema: {
          type: 'object',
          title: 'CollectStatusRequest',
          properties: { batch_id: string },
          required: ['batch_id'],
        },
        requestBaseBody: {
          api_key: BENCH_CREDENTIALS.chillrApiKey,
          api_secret_key: BENCH_CREDENTIALS.chillrApiSecretKey,
        },
        responseSchema: collectStatusResponse,
      },
    ],
  });
}

/** `Query.groupPurchases(input:)` → POST /api/merch_get_purch_info.json. */
export function pbgSource(endpoint: string) {
  return loadJSONSchemaSubgraph('PayByGroup', {
    endpoint,
    operations: [
      {
        type: 'Query',
        field: 'groupPurchases',
        path: '/api/merch_get_purch_info.json',
        method: 'POST',
        requestSchema: purchaseQueryRequest,
        requestBaseBody: { api_key: BENCH_CREDENTIALS.pbgApiKey },
        responseSchema: {
          type: 'object',
          title: 'GroupPurchases',
          properties: { group_purchases: { type: 'array', items: groupPurchase } },
        },
      },
    ],
  });
}
