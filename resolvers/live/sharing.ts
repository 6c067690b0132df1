import type { JoinRule } from '../../src/http/ws.js';

/**
 * When a graphql-ws subscriber may join a stream already running for an identical
 * subscription (same document, variables and visibility; src/http/ws-fanout.ts), per root
 * field. A field missing here is shared only until its first event.
 *
 * - `groupPurchaseChanged` without `after` starts at the end of the change log, so joining a
 *   running stream loses nothing: the joiner gets every change logged after it subscribed (and
 *   perhaps one logged just before, that the stream had not delivered yet). With `after` it
 *   replays history from that cursor; a stream that already delivered part of it would skip
 *   that part for the joiner, so it is joined only before its first event.
 * - `collectBatchUpdated` sends the whole batch each time, starting with the batch as it is
 *   now; a joiner gets the stream's last event at once (as BatchWatcher gives a late joiner the
 *   poller's last view), then every later one.
 */
export function subscriptionJoinRule(field: string, args: Record<string, unknown>): JoinRule {
  switch (field) {
    case 'groupPurchaseChanged':
      return args.after === undefined || args.after === null ? 'anytime' : 'before-first';
    case 'collectBatchUpdated':
      return 'replay-last';
    default:
      return 'before-first';
  }
}
