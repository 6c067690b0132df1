/**
 * `npm run sandbox:reset`: back to the seeded sandbox. Deletes the simulators' state files and
 * the service's own SQLite store (with its -wal/-shm files), both located from the same
 * configuration `npm start` reads (STORE_URL), so the next `npm start` begins where a fresh
 * clone does. Refuses while the service answers on PORT: a running process would keep the
 * deleted files open and write them back.
 *
 * A Redis store is not flushed: it may be shared with other people or instances; the message
 * says how to flush it by hand. `memory://` has nothing to reset.
 */
import { rm } from 'node:fs/promises';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { sandboxStatePath } from '../sandbox/state-file.js';
import { parseStoreUrl, redactUrl } from '../store/url.js';

async function serviceIsRunning(config: Config): Promise<boolean> {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  try {
    const response = await fetch(`http://${host}:${config.port}/healthz`, {
      signal: AbortSignal.timeout(1000),
    });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Removes the files and returns the ones that existed. */
async function remove(files: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const file of files) {
    try {
      await rm(file);
      removed.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/** What to delete for this configuration, and what to tell the user about the rest. */
function resetPlan(config: Config): { files: string[]; notes: string[] } {
  const location = parseStoreUrl(config.storeUrl);
  const files: string[] = [];
  const notes: string[] = [];
  for (const simulator of ['chillr', 'pbg'] as const) {
    const file = sandboxStatePath(config.storeUrl, simulator);
    if (file) files.push(file);
  }
  if (location.kind === 'sqlite') {
    files.push(...['', '-wal', '-shm', '-journal'].map((suffix) => location.path + suffix));
  } else if (location.kind === 'redis') {
    notes.push(
      `STORE_URL ${redactUrl(config.storeUrl)} is Redis: not flushed (it may be shared). ` +
        'If it is yours alone, run `redis-cli -u <STORE_URL> FLUSHDB`.',
    );
  } else {
    notes.push('STORE_URL is memory://: nothing outlives the process, nothing to reset.');
  }
  return { files, notes };
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 78;
  }
  if (await serviceIsRunning(config)) {
    process.stderr.write(
      `sandbox:reset: the service answers on port ${config.port}; stop it first (Ctrl-C), ` +
        'then run this again.\n',
    );
    return 1;
  }
  const plan = resetPlan(config);
  const removed = await remove(plan.files);
  process.stdout.write(
    removed.length > 0
      ? `sandbox:reset: removed ${removed.join(', ')}\n`
      : 'sandbox:reset: already in the seeded state (no state files found)\n',
  );
  for (const note of plan.notes) process.stdout.write(`sandbox:reset: ${note}\n`);
  process.stdout.write('sandbox:reset: the next `npm start` begins from the seeded data.\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sandbox:reset failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
