/**
 * The group purchase life cycle as the simulator plays it. The document names the statuses only
 * through examples and the actions only by intent ("Merchant Push Action"), so the transitions
 * below are the believable reading written down in the brief, kept in one table so a test can
 * walk every pair.
 */

export const STATUSES = [
  'pending',
  'payment_completed',
  'collected',
  'expired',
  'cancelled',
  'refunded',
  'unavailable',
] as const;
export type Status = (typeof STATUSES)[number];

export const ACTIONS = ['collect_funds', 'set_unavailable', 'refund', 'cancel'] as const;
export type Action = (typeof ACTIONS)[number];

export function isAction(value: unknown): value is Action {
  return (ACTIONS as readonly unknown[]).includes(value);
}

/** For each action: the statuses it applies to (undefined = every status but `notFrom`). */
const RULES: Record<Action, { to: Status; from?: readonly string[]; notFrom?: readonly string[] }> =
  {
    // Funds move only once the whole group has paid.
    collect_funds: { to: 'collected', from: ['payment_completed'] },
    // Inventory can vanish while the group is still paying or before the merchant collects.
    set_unavailable: { to: 'unavailable', from: ['pending', 'payment_completed'] },
    // Only money PBG holds or has sent can be returned.
    refund: { to: 'refunded', from: ['payment_completed', 'collected'] },
    // Cancel is final and refunds, so it cannot follow an end state that already settled money.
    cancel: { to: 'cancelled', notFrom: ['cancelled', 'refunded', 'collected'] },
  };

/**
 * The status `action` moves a purchase in `current` to, or undefined when PBG refuses it
 * (`{"result": false}`). Unknown status words (set through updatePurchase) only allow cancel.
 */
export function nextStatus(current: unknown, action: Action): Status | undefined {
  const rule = RULES[action];
  if (typeof current !== 'string') return undefined;
  if (rule.from) return rule.from.includes(current) ? rule.to : undefined;
  return rule.notFrom?.includes(current) ? undefined : rule.to;
}
