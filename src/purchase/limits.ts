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
  const walked = walk(value, MAX_EVENT_DEPTH);
  if (walked.deeper) {
    return `the event is nested deeper than MAX_EVENT_DEPTH (${MAX_EVENT_DEPTH} levels)`;
  }
  // Safe now: the depth is bounded, so stringify cannot overflow the stack. Only needed when the
  // bound leaves the answer open: most events are a few hundred characters, far below the limit.
  if (walked.bound > MAX_EVENT_CHARS && (JSON.stringify(value)?.length ?? 0) > MAX_EVENT_CHARS) {
    return `the event is larger than MAX_EVENT_CHARS (${MAX_EVENT_CHARS} characters of JSON)`;
  }
  return undefined;
}

/** Characters JSON.stringify may write for a string of `n` UTF-16 units: each as `\uXXXX`. */
const stringBound = (n: number): number => 6 * n + 2;
/** Characters JSON.stringify may write for a number (`-1.2345678901234567e-308`), true or null. */
const SCALAR_BOUND = 24;

/**
 * One iterative walk (an explicit stack, so a 100,000-level object costs `limit` steps down one
 * branch, not a stack overflow) that stops at the first container deeper than `limit`, and adds
 * up an upper bound of the value's JSON length on the way.
 *
 * Why a bound and not JSON.stringify: the change push checks every event, and stringifying
 * 5,000 events only to learn each is a few hundred characters was ~10 ms of the push and as much
 * again in garbage. The bound is exact enough to decide nearly every event; one that may be too
 * large is stringified. A value that is not plain JSON data (a class instance, which may have
 * `toJSON`) makes the bound infinite, so stringify decides.
 */
function walk(value: unknown, limit: number): { deeper: boolean; bound: number } {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let bound = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') {
      bound += scalarBound(current);
      continue;
    }
    if (depth > limit) return { deeper: true, bound };
    if (!isPlain(current)) bound = Number.POSITIVE_INFINITY;
    const children = Array.isArray(current) ? current : Object.values(current);
    // Brackets, a comma per element, and per key its quoted text and a colon.
    bound += 2 + children.length;
    if (!Array.isArray(current)) {
      for (const key of Object.keys(current)) bound += stringBound(key.length) + 1;
    }
    for (const child of children) {
      if (child !== null && typeof child === 'object')
        stack.push({ value: child, depth: depth + 1 });
      else bound += scalarBound(child);
    }
  }
  return { deeper: false, bound };
}

function scalarBound(value: unknown): number {
  return typeof value === 'string' ? stringBound(value.length) : SCALAR_BOUND;
}

function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
