import type { Logger } from '../../logger.js';
import { merchantAuthMatches } from './merchant-auth.js';
import { withDefaults, type OfferCatalog, type PurchaseOffer } from '../../purchase/offers.js';
import { InventoryState } from '../../pbg/types.js';
import type { Money } from '../../money.js';

/**
 * The merchant's answers to PayByGroup's calls, as plain request → response functions (the
 * express wiring is in src/http/callbacks/pbg-routes.ts). Each checks `merchant_auth` first; a wrong
 * token is 401 `{"result": false}` and the token is never logged.
 */

export interface CallbackResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface PbgCallbackOptions {
  offers: OfferCatalog;
  merchantAuth: string;
  logger: Logger;
}

export class PbgCallbacks {
  constructor(private readonly options: PbgCallbackOptions) {}

  /** Common checks; returns a response when the call must be refused. */
  check(body: unknown, endpoint: string): CallbackResponse | { body: Record<string, unknown> } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return refuse(400, `The ${endpoint} body must be a JSON object.`);
    }
    const record = body as Record<string, unknown>;
    if (!merchantAuthMatches(record.merchant_auth, this.options.merchantAuth)) {
      this.options.logger.warn(
        { endpoint, hasToken: typeof record.merchant_auth === 'string' },
        'PBG callback with a wrong merchant_auth',
      );
      return { status: 401, body: { result: false } };
    }
    return { body: record };
  }

  /**
   * purchase_create.json: the offer's cost (exactly one form), image and optional fields — each
   * optional field the offer's own, else the merchant-wide default (setPurchaseOfferDefaults).
   */
  async purchaseCreate(raw: unknown): Promise<CallbackResponse> {
    const checked = this.check(raw, 'purchase_create.json');
    if ('status' in checked) return checked;
    const offer = await this.offerFor(checked.body);
    if ('status' in offer) return offer;
    const answer: Record<string, unknown> = offer.purchaseCost
      ? { purchase_cost: formatMoneyString(offer.purchaseCost) }
      : { cost_per_person: formatMoneyString(offer.costPerPerson!) };
    answer.purchase_image_url = offer.imageUrl;
    const texts = withDefaults(offer, await this.options.offers.getDefaults());
    if (texts.name) answer.purchase_name = texts.name;
    if (texts.description) answer.purchase_description = texts.description;
    if (texts.linkUrl) answer.purchase_link_url = texts.linkUrl;
    if (texts.merchantOrgEmail) answer.merchant_org_email = texts.merchantOrgEmail;
    return { status: 200, body: answer };
  }

  /** inventory_status.json: `{"result": "available" | "unavailable" | "unknown"}`. */
  async inventoryStatus(raw: unknown): Promise<CallbackResponse> {
    const checked = this.check(raw, 'inventory_status.json');
    if ('status' in checked) return checked;
    const offer = await this.offerFor(checked.body);
    if ('status' in offer) return offer;
    return { status: 200, body: { result: INVENTORY_WORDS[offer.inventoryState] } };
  }

  private async offerFor(body: Record<string, unknown>): Promise<PurchaseOffer | CallbackResponse> {
    const purchaseId = body.purchase_id;
    if (typeof purchaseId !== 'string' || purchaseId.trim() === '') {
      return refuse(400, 'purchase_id is required and must be a non-empty string.');
    }
    const offer = await this.options.offers.get(purchaseId.trim());
    if (!offer) {
      this.options.logger.info({ purchaseId }, 'PBG asked about a purchase with no offer');
      return refuse(
        404,
        `No offer for purchase_id ${JSON.stringify(purchaseId)}; create one with upsertPurchaseOffer.`,
      );
    }
    return offer;
  }
}

const INVENTORY_WORDS: Record<InventoryState, string> = {
  [InventoryState.AVAILABLE]: 'available',
  [InventoryState.UNAVAILABLE]: 'unavailable',
  [InventoryState.UNKNOWN]: 'unknown',
};

/** PBG's CURRENCY form: "1250.00 USD". */
function formatMoneyString(money: Money): string {
  return `${money.amount} ${money.currency}`;
}

function refuse(status: number, error: string): CallbackResponse {
  return { status, body: { result: false, error } };
}
