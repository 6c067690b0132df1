/**
 * Bounds on one purchase object (a change-push event or a query answer entry), checked before
 * anything hashes, compares or stores it.
 *
 * Why: every later step walks the object recursively — JSON.stringify when it is stored,
 * canonical JSON when it is compared — and a few thousand levels of nesting overflow the stack
 * there. Once such an event is stored, every later push that touches the purchase fails the same
 * way, so the purchase is poisoned for good. Checking first, with a walk that keeps its own
 * stack instead of recursing, keeps one bad event from costing more than its own refusal.
 */

/** Deepest nesting accepted in one purchase object (the object itself is depth 1). */
export const MAX_EVENT_DEPTH = 32;
/** Largest purchase object accepted, in UTF-16 code units of its JSON text. */
export const MAX_EVENT_CHARS = 64 * 1024;

/** Why `value` breaks a limit (naming the limit and its value), or undefined when it fits. */
export function purchaseObjectProblem(value: unknown): string | undefined {
  const depth = depthExceeding(value, MAX_EVENT_DEPTH);
  if (depth !== undefined) {
    return `the event is nested deeper than MAX_EVENT_DEPTH (${MAX_EVENT_DEPTH} levels)`;
  }
  // Safe now: the depth is bounded, so stringify cannot overflow the stack.
  const chars = JSON.stringify(value)?.length ?? 0;
  if (chars > MAX_EVENT_CHARS) {
    return `the event is larger than MAX_EVENT_CHARS (${MAX_EVENT_CHARS} characters of JSON)`;
  }
  return undefined;
}

/**
 * The first depth above `limit` found in `value`, or undefined. Iterative (an explicit stack),
 * and it stops at the first container past the limit, so a 100,000-level object costs
 * `limit` steps down one branch, not a stack overflow.
 */
function depthExceeding(value: unknown, limit: number): number | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return depth;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object')
        stack.push({ value: child, depth: depth + 1 });
    }
  }
  return undefined;
}
