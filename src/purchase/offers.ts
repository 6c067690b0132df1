import { ErrorCode, ServiceError } from '../errors.js';
import { formatMinor, parseAmount, type Money } from '../money.js';
import { guardStore } from '../store/guard.js';
import type { Store } from '../store/index.js';
import { InventoryState } from '../pbg/types.js';

/**
 * The merchant's offer catalog: what this service answers when PayByGroup asks about a
 * purchase (`purchase_create.json`: cost and image; `inventory_status.json`: availability).
 * PBG calls at the moment a user starts a group purchase or pays a share, so the answer must
 * come from our own store, fast, not from some other system at call time.
 */

export interface PurchaseOffer {
  purchaseId: string;
  /** Exactly one of purchaseCost and costPerPerson is set. */
  purchaseCost: Money | null;
  costPerPerson: Money | null;
  imageUrl: string;
  name: string | null;
  description: string | null;
  linkUrl: string | null;
  merchantOrgEmail: string | null;
  inventoryState: InventoryState;
  /** ISO-8601 instant of the last upsert. */
  updatedAt: string;
}

export interface PurchaseOfferInput {
  purchaseId: string;
  purchaseCost?: string | null;
  costPerPerson?: string | null;
  currency: string;
  imageUrl: string;
  name?: string | null;
  description?: string | null;
  linkUrl?: string | null;
  merchantOrgEmail?: string | null;
  /** Omitted on an update: keep the current state; on a create: AVAILABLE. */
  inventoryState?: InventoryState | null;
}

/**
 * Optional offer fields set once for every purchase (PayByGroup's purchase_create section: they
 * "may be set universally and will apply to all purchases unless overridden"). A purchase's own
 * offer overrides each field it sets; a field neither sets is left out of the answer.
 */
export interface PurchaseOfferDefaults {
  name: string | null;
  description: string | null;
  linkUrl: string | null;
  merchantOrgEmail: string | null;
  /** ISO-8601 instant of the last set. */
  updatedAt: string;
}

/** Every field replaces the stored default; absent or null = no default for that field. */
export interface PurchaseOfferDefaultsInput {
  name?: string | null;
  description?: string | null;
  linkUrl?: string | null;
  merchantOrgEmail?: string | null;
}

/** The optional fields an answer carries: the offer's own where set, else the default. */
export type OfferTexts = Pick<
  PurchaseOffer,
  'name' | 'description' | 'linkUrl' | 'merchantOrgEmail'
>;

const NAMESPACE = 'offers';
/** The defaults live beside the offers, under a key no purchase id can take (ids are trimmed). */
const DEFAULTS_NAMESPACE = 'offer-defaults';
const DEFAULTS_KEY = 'merchant';
const MAX_TEXT = 2000;

export class OfferCatalog {
  private readonly offers;
  private readonly defaults;

  constructor(
    store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.offers = store.namespace<PurchaseOffer>(NAMESPACE);
    this.defaults = store.namespace<PurchaseOfferDefaults>(DEFAULTS_NAMESPACE);
  }

  /** The merchant-wide defaults; undefined until they are first set. */
  getDefaults(): Promise<PurchaseOfferDefaults | undefined> {
    return guardStore(() => this.defaults.get(DEFAULTS_KEY));
  }

  /** Validates (as an offer's own fields) and replaces the defaults. */
  async setDefaults(input: PurchaseOfferDefaultsInput): Promise<PurchaseOfferDefaults> {
    const defaults: PurchaseOfferDefaults = {
      name: text(input.name, 'name'),
      description: text(input.description, 'description'),
      linkUrl: httpUrl(input.linkUrl, 'linkUrl'),
      merchantOrgEmail: email(input.merchantOrgEmail),
      updatedAt: this.now().toISOString(),
    };
    await guardStore(() => this.defaults.set(DEFAULTS_KEY, defaults));
    return defaults;
  }

  get(purchaseId: string): Promise<PurchaseOffer | undefined> {
    return guardStore(() => this.offers.get(purchaseId.trim()));
  }

  /** Offers by id in order, undefined where there is none (a DataLoader batch function). */
  async getMany(purchaseIds: readonly string[]): Promise<Array<PurchaseOffer | null>> {
    const found = await guardStore(() =>
      Promise.all(purchaseIds.map((id) => this.offers.get(id.trim()))),
    );
    return found.map((offer) => offer ?? null);
  }

  /** Validates and stores an offer; a bad field is BAD_USER_INPUT naming the field. */
  async upsert(input: PurchaseOfferInput): Promise<PurchaseOffer> {
    const purchaseId = input.purchaseId.trim();
    if (purchaseId === '' || purchaseId.length > 255) {
      throw invalid(['purchaseId'], 'purchaseId must be 1 to 255 characters.');
    }
    const currency = input.currency.trim().toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) {
      throw invalid(
        ['currency'],
        `currency must be an ISO-4217 code such as "USD" (got ${JSON.stringify(input.currency)}).`,
      );
    }
    const hasTotal = input.purchaseCost != null;
    const hasEach = input.costPerPerson != null;
    if (hasTotal === hasEach) {
      throw invalid(
        hasTotal ? ['costPerPerson'] : ['purchaseCost'],
        'Give exactly one of purchaseCost (the whole purchase) and costPerPerson (one spot); PayByGroup accepts one or the other.',
      );
    }
    const field = hasTotal ? 'purchaseCost' : 'costPerPerson';
    const amount = parseAmount((hasTotal ? input.purchaseCost : input.costPerPerson)!);
    if (!amount.ok) throw invalid([field], `${field} ${amount.reason}.`);
    const money: Money = { amount: formatMinor(amount.minor), currency };

    const existing = await this.get(purchaseId);
    const offer: PurchaseOffer = {
      purchaseId,
      purchaseCost: hasTotal ? money : null,
      costPerPerson: hasEach ? money : null,
      imageUrl: httpUrl(input.imageUrl, 'imageUrl')!,
      name: text(input.name, 'name'),
      description: text(input.description, 'description'),
      linkUrl: httpUrl(input.linkUrl, 'linkUrl'),
      merchantOrgEmail: email(input.merchantOrgEmail),
      inventoryState: input.inventoryState ?? existing?.inventoryState ?? InventoryState.AVAILABLE,
      updatedAt: this.now().toISOString(),
    };
    await guardStore(() => this.offers.set(purchaseId, offer));
    return offer;
  }
}

function httpUrl(value: string | null | undefined, field: string): string | null {
  if (value == null) return null;
  try {
    const url = new URL(value.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString();
  } catch {
    // reported below
  }
  throw invalid(
    [field],
    `${field} must be an absolute http(s) URL (got ${JSON.stringify(value)}).`,
  );
}

function text(value: string | null | undefined, field: string): string | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed.length > MAX_TEXT)
    throw invalid([field], `${field} must be at most ${MAX_TEXT} characters.`);
  return trimmed === '' ? null : trimmed;
}

function email(value: string | null | undefined): string | null {
  if (value == null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed)) {
    throw invalid(
      ['merchantOrgEmail'],
      `merchantOrgEmail must be an e-mail address (got ${JSON.stringify(value)}).`,
    );
  }
  return trimmed;
}

function invalid(field: string[], message: string): ServiceError {
  return new ServiceError(ErrorCode.BAD_USER_INPUT, message, { details: { field } });
}

/** Field by field: the offer's own value where it has one, else the default's. */
export function withDefaults(
  offer: OfferTexts,
  defaults: PurchaseOfferDefaults | undefined,
): OfferTexts {
  return {
    name: offer.name ?? defaults?.name ?? null,
    description: offer.description ?? defaults?.description ?? null,
    linkUrl: offer.linkUrl ?? defaults?.linkUrl ?? null,
    merchantOrgEmail: offer.merchantOrgEmail ?? defaults?.merchantOrgEmail ?? null,
  };
}
