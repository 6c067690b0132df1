import type { JsonObject } from './http.js';
import { isPbgDate, pbgDayOf } from './wire.js';

/** The constraints of merch_get_purch_info.json; every one given must hold (a conjunction). */
export interface PurchaseFilter {
  merchant_id?: string;
  inventory_id?: string;
  purchase_id?: string;
  created_after?: string;
  created_before?: string;
  status?: string[];
}

const STRING_FIELDS = ['merchant_id', 'inventory_id', 'purchase_id'] as const;

/**
 * Reads the filter fields of a query body, or names the first bad one. A field that is absent or
 * null constrains nothing; unknown fields are ignored, as a Rails controller ignores extra params.
 */
export function parseFilter(body: JsonObject): { filter: PurchaseFilter } | { error: string } {
  const filter: PurchaseFilter = {};
  for (const field of STRING_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return { error: `${field} must be a string` };
    filter[field] = value;
  }
  for (const field of ['created_after', 'created_before'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (!isPbgDate(value)) {
      return { error: `${field} must be a date "YYYY-MM-DD", got ${JSON.stringify(value)}` };
    }
    filter[field] = value;
  }
  const status = body.status;
  if (status !== undefined && status !== null) {
    if (!Array.isArray(status) || !status.every((s) => typeof s === 'string')) {
      return { error: 'status must be an array of strings, e.g. ["pending"]' };
    }
    filter.status = status;
  }
  return { filter };
}

/**
 * Whether a purchase meets every constraint. Dates compare as Pacific calendar days, the zone
 * PBG writes created_at in; a purchase whose created_at is not a PBG datetime never matches a
 * date constraint. An empty status array matches nothing: it is a constraint with no values,
 * like Rails' `where(status: [])`.
 */
export function matches(purchase: JsonObject, filter: PurchaseFilter): boolean {
  if (filter.merchant_id !== undefined && purchase.merchant_id !== filter.merchant_id) return false;
  if (filter.inventory_id !== undefined && purchase.inventory_id !== filter.inventory_id) {
    return false;
  }
  if (
    filter.purchase_id !== undefined &&
    // "by purchase_id (both merchant, and PayByGroup ids)": either id selects the purchase.
    purchase.purchase_id !== filter.purchase_id &&
    purchase.pbg_purchase_id !== filter.purchase_id
  ) {
    return false;
  }
  if (filter.created_after !== undefined || filter.created_before !== undefined) {
    const day = pbgDayOf(purchase.created_at);
    if (day === undefined) return false;
    if (filter.created_after !== undefined && day < filter.created_after) return false;
    if (filter.created_before !== undefined && day >= filter.created_before) return false;
  }
  if (filter.status !== undefined) {
    if (typeof purchase.status !== 'string' || !filter.status.includes(purchase.status)) {
      return false;
    }
  }
  return true;
}
