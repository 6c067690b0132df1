import type { Logger } from '../logger.js';
import type { Durability, Store } from './index.js';

/** What the check needs to know of the configuration. */
export interface DurabilityPolicy {
  production: boolean;
  /** ALLOW_FORGETFUL_STORE: the operator accepts a store that forgets. */
  allowForgetful: boolean;
  /** REDIS_PERSISTENCE_CONFIRMED: the operator says a Redis that hides its CONFIG persists. */
  persistenceConfirmed: boolean;
}

/**
 * Why the service must not start on `store` (undefined: it may).
 *
 * Every promise about money rests on the store keeping what it acknowledged: an idempotency
 * claim forgotten by a restarted Redis lets the client's retry create a second batch, and a
 * forgotten change-log entry is a push lost. So production refuses a store that forgets, naming
 * what was found and the variable that lets an operator accept it knowingly; outside production
 * a warning is enough (development on `memory://` is normal).
 */
export async function refusalOf(
  store: Store,
  policy: DurabilityPolicy,
  logger: Logger,
): Promise<string | undefined> {
  const durability = await store.durability();
  if (durability.kind === 'keeps') return undefined;
  const problem = describe(durability);
  if (!policy.production || policy.allowForgetful) {
    logger.warn({ store: store.description, durability: durability.detail }, problem);
    return undefined;
  }
  if (durability.kind === 'unknown' && policy.persistenceConfirmed) return undefined;
  return problem;
}

function describe(durability: Durability): string {
  if (durability.kind === 'unknown') {
    return (
      `${durability.detail}, so this service cannot tell whether it keeps acknowledged writes ` +
      'through a restart (appendonly). If it does (a managed Redis with persistence on), set ' +
      'REDIS_PERSISTENCE_CONFIRMED=true; to run on it knowing it may forget, set ' +
      'ALLOW_FORGETFUL_STORE=true.'
    );
  }
  const fix = durability.detail.startsWith('Redis')
    ? 'Turn on appendonly (CONFIG SET appendonly yes, and in redis.conf), use a SQLite or PostgreSQL STORE_URL'
    : 'Use a SQLite, PostgreSQL or Redis (appendonly yes) STORE_URL';
  return (
    `The store forgets acknowledged writes on a crash: ${durability.detail}. A forgotten ` +
    `idempotency key lets a retry move money twice. ${fix}, or set ALLOW_FORGETFUL_STORE=true ` +
    'to accept that knowingly.'
  );
}
