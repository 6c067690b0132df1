import { isObject, SandboxError, type JsonObject } from './http.js';
import type { Purchase } from './store.js';
import { formatPst, isPbgCurrency, isPbgDateTime, pstMidnightAfter } from './wire.js';

/** What the user picks when clicking "PayByGroup" on the merchant site. */
export interface StartPurchaseInput {
  /** The merchant's id for this purchase (the document: "supplied by the merchant"). */
  purchaseId: string;
  /**
   * Inventory the purchase is for.
   * @default the merchant's `inventory_id` answer, else 'INV_SANDBOX'
   */
  inventoryId?: string;
  /**
   * Group size.
   * @default the merchant's `num_people` answer, else 4
   */
  numPeople?: number;
  /**
   * Expiry, "YYYY-MM-DD HH:MM PST".
   * @default the merchant's answer, else midnight PST 14 days from now
   */
  commitDeadline?: string;
}

const MAX_PEOPLE = 1000;
const DEFAULT_PEOPLE = 4;
const DEFAULT_DEADLINE_DAYS = 14;
const DEFAULT_INVENTORY = 'INV_SANDBOX';

function isPeople(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_PEOPLE;
}

function isId(value: unknown): value is string {
  // Printable ASCII, as ids travel in URLs and JSON on both sides.
  return typeof value === 'string' && /^[\x21-\x7e]{1,100}$/.test(value);
}

/** Checks startPurchase input from typed or untyped callers (the control API). */
export function parseStartInput(input: unknown): StartPurchaseInput {
  const bad = (message: string): never => {
    throw new SandboxError(400, `invalid purchase: ${message}`);
  };
  if (!isObject(input)) return bad('expected an object like {"purchaseId":"ABC_1"}');
  const { purchaseId, inventoryId, numPeople, commitDeadline } = input;
  if (!isId(purchaseId)) bad('purchaseId must be 1–100 printable ASCII characters, no spaces');
  if (inventoryId !== undefined && !isId(inventoryId)) {
    bad('inventoryId must be 1–100 printable ASCII characters, no spaces');
  }
  if (numPeople !== undefined && !isPeople(numPeople)) {
    bad(`numPeople must be an integer from 1 to ${MAX_PEOPLE}`);
  }
  if (commitDeadline !== undefined && !isPbgDateTime(commitDeadline)) {
    bad('commitDeadline must be "YYYY-MM-DD HH:MM PST"');
  }
  return {
    purchaseId: purchaseId as string,
    ...(inventoryId !== undefined && { inventoryId: inventoryId as string }),
    ...(numPeople !== undefined && { numPeople: numPeople as number }),
    ...(commitDeadline !== undefined && { commitDeadline: commitDeadline as string }),
  };
}

/** Fields PBG owns: a merchant answer cannot set them, so they are dropped from it. */
const PBG_OWNED = new Set([
  'purchase_id',
  'pbg_purchase_id',
  'merchant_id',
  'merchant_auth',
  'status',
  'num_paid',
  'created_at',
]);

const OPTIONAL_STRINGS = [
  'purchase_name',
  'purchase_description',
  'purchase_link_url',
  'merchant_org_email',
];

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The first reason a purchase_create.json answer is unusable, or undefined. The document makes
 * exactly one of purchase_cost / cost_per_person required, plus purchase_image_url.
 */
export function merchantAnswerProblem(answer: unknown): string | undefined {
  if (!isObject(answer)) return 'the answer is not a JSON object';
  const hasTotal = answer.purchase_cost !== undefined;
  const hasPerPerson = answer.cost_per_person !== undefined;
  if (hasTotal === hasPerPerson) {
    return hasTotal
      ? 'it has both purchase_cost and cost_per_person; send exactly one'
      : 'it has neither purchase_cost nor cost_per_person; send exactly one';
  }
  const costField = hasTotal ? 'purchase_cost' : 'cost_per_person';
  if (!isPbgCurrency(answer[costField])) {
    return `${costField} must be a positive currency string like "1250.00 USD", got ${JSON.stringify(answer[costField])}`;
  }
  if (!isHttpUrl(answer.purchase_image_url)) {
    return 'purchase_image_url must be an http(s) URL of a .png or .jpg image';
  }
  for (const field of OPTIONAL_STRINGS) {
    if (answer[field] !== undefined && typeof answer[field] !== 'string') {
      return `${field} must be a string when present`;
    }
  }
  if (answer.inventory_id !== undefined && !isId(answer.inventory_id)) {
    return 'inventory_id must be a string id when present';
  }
  if (answer.num_people !== undefined && !isPeople(answer.num_people)) {
    return `num_people must be an integer from 1 to ${MAX_PEOPLE} when present`;
  }
  if (answer.commit_deadline !== undefined && !isPbgDateTime(answer.commit_deadline)) {
    return 'commit_deadline must be "YYYY-MM-DD HH:MM PST" when present';
  }
  return undefined;
}

/**
 * A new pending purchase from the user's input and the merchant's (already checked) answer.
 * The user's choices win over the merchant's, which win over sandbox defaults.
 */
export function buildPurchase(
  input: StartPurchaseInput,
  answer: JsonObject,
  merchantId: string,
  now: Date,
): Purchase {
  const extras: JsonObject = {};
  for (const [key, value] of Object.entries(answer)) {
    if (!PBG_OWNED.has(key)) extras[key] = value;
  }
  const {
    inventory_id: answerInventory,
    num_people: answerPeople,
    commit_deadline: answerDeadline,
    ...rest
  } = extras;
  return {
    purchase_id: input.purchaseId,
    merchant_id: merchantId,
    inventory_id: input.inventoryId ?? answerInventory ?? DEFAULT_INVENTORY,
    status: 'pending',
    ...rest,
    num_people: input.numPeople ?? answerPeople ?? DEFAULT_PEOPLE,
    num_paid: 0,
    commit_deadline:
      input.commitDeadline ?? answerDeadline ?? pstMidnightAfter(now, DEFAULT_DEADLINE_DAYS),
    created_at: formatPst(now),
  };
}

/**
 * What the simulator assumes the merchant would have answered when no merchantBaseUrl is set,
 * so startPurchase still works in a sandbox with callbacks switched off.
 */
export function placeholderAnswer(purchaseId: string): JsonObject {
  return {
    purchase_name: `Sandbox purchase ${purchaseId}`,
    purchase_cost: '100.00 USD',
    purchase_image_url: 'https://merchant.example/img/placeholder.png',
  };
}
