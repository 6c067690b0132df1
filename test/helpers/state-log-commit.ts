import type { StateLog, Store } from '../../src/store/index.js';

/**
 * The store with its state log's `commit` replaced by `commit(writes, real)`; every other
 * method and property of the store and of its state log passes through, bound to the real
 * one. For tests that record or fail commits below the app: a replacement that calls the real
 * commit at once, in call order, keeps the log's order (`commitsInCallOrder` passes through).
 */
export function replaceCommit(store: Store, commit: (...args: CommitArgs) => CommitResult): Store {
  const real = store.stateLog;
  const stateLog = new Proxy(real, {
    get: (target, prop) =>
      prop === 'commit'
        ? (writes: Parameters<StateLog['commit']>[0]) => commit(writes, target)
        : bound(target, prop),
  });
  return new Proxy(store, {
    get: (target, prop) => (prop === 'stateLog' ? stateLog : bound(target, prop)),
  });
}

type CommitArgs = [writes: Parameters<StateLog['commit']>[0], real: StateLog];
type CommitResult = ReturnType<StateLog['commit']>;

function bound(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
}
