import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * Another process holding a SQLite file's write lock: a real `node` child with its own
 * `node:sqlite` connection, in a transaction taken with `begin` (`BEGIN IMMEDIATE` by default)
 * that it keeps until told to release it. `hold` resolves once the child has the lock — a
 * barrier it reports on stdout, not a sleep.
 */
export interface HeldLock {
  /** Commits the child's transaction (empty: it wrote nothing) and waits until it exited. */
  release(): Promise<void>;
  /** Kills the child if it still runs (for cleanup after a failed test). */
  kill(): void;
}

/**
 * The child's own code. It gives up and exits by itself after `maxHoldMs`, so a test that
 * fails before releasing it cannot leave a process behind holding the file.
 */
const SCRIPT = `
  import { DatabaseSync } from 'node:sqlite';
  const [file, begin, maxHoldMs] = process.argv.slice(-3);
  const db = new DatabaseSync(file, { timeout: 10000 });
  db.exec(begin);
  // A read inside the transaction: for BEGIN EXCLUSIVE under a rollback journal, the lock is
  // taken by BEGIN itself; under WAL, BEGIN IMMEDIATE already holds the write lock.
  db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
  process.stdout.write('locked\\n');
  const end = () => { if (db.isTransaction) db.exec('COMMIT'); db.close(); process.exit(0); };
  process.stdin.on('data', end);
  setTimeout(end, Number(maxHoldMs));
`;

export async function holdSqliteLock(
  file: string,
  options: { begin?: string; maxHoldMs?: number } = {},
): Promise<HeldLock> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      SCRIPT,
      file,
      options.begin ?? 'BEGIN IMMEDIATE',
      String(options.maxHoldMs ?? 60_000),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('locked\n')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`the lock holder exited before locking:\n${output}`)));
  });
  return {
    async release() {
      if (child.exitCode === null) child.stdin!.write('release\n');
      await exited;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
