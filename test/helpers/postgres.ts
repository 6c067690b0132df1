import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './process.js';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (`apt-get install postgresql`). */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const available = existsSync(path.join(POSTGRES_BIN, 'initdb'));

/**
 * Why a PostgreSQL suite is skipped, or undefined when it must run. On CI (`CI` set) missing
 * binaries are no reason to skip: the suite runs and fails loudly in `startPostgres`.
 */
export function postgresSkipReason(): string | undefined {
  if (available || process.env.CI) return undefined;
  return `skipped: PostgreSQL 15 is not installed (${POSTGRES_BIN})`;
}

export interface PostgresServer {
  port: number;
  /** A URL of the `postgres` database; the password is ignored (trust auth) but tests redaction. */
  url: string;
  /** A fresh, empty database on this server and its URL. */
  createDatabase(): Promise<string>;
  /** `pg_ctl -m immediate stop`: what a crash does (no checkpoint; WAL recovery on start). */
  crash(): Promise<void>;
  /** Starts the stopped server again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the server (fast) and deletes its directory. */
  close(): Promise<void>;
}

/**
 * Starts a private PostgreSQL server for a test file: `initdb` into a fresh directory owned by
 * the `postgres` system user (PostgreSQL refuses to run as root), then `pg_ctl start` on a free
 * port, listening on 127.0.0.1 with its socket in the same directory. `pg_ctl -w` returns once
 * the server accepts connections — the barrier.
 *
 * `fsync=off` by default: these tests crash the server process (immediate stop), never the
 * machine, so the operating system keeps every WAL write anyway, and the shared 2-core test
 * machine is spared the flushes.
 */
export async function startPostgres(options: { fsync?: boolean } = {}): Promise<PostgresServer> {
  if (!available) {
    throw new Error(
      `PostgreSQL 15 is not installed at ${POSTGRES_BIN} (apt-get install postgresql); ` +
        'CI is set, so PostgreSQL tests are not skipped.',
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-test-'));
  chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, ...postgresIds());
  await pgCommand(asRoot, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    `-c fsync=${options.fsync === true ? 'on' : 'off'}`,
    '-c max_connections=200',
  ].join(' ');
  const start = () =>
    pgCommand(asRoot, 'pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-o',
      settings,
      '-w',
      'start',
    ]);
  await start();
  const url = `postgres://postgres:test-secret@127.0.0.1:${port}/postgres`;
  let databases = 0;
  return {
    port,
    url,
    async createDatabase() {
      const name = `t${++databases}_${process.pid}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async crash() {
      await pgCommand(asRoot, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    start: () => start().then(() => undefined),
    async close() {
      await pgCommand(asRoot, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(
        () => undefined,
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** uid and gid of the `postgres` system user. */
function postgresIds(): [number, number] {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres system user (is the postgresql package installed?)');
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

async function pgCommand(asRoot: boolean, command: string, args: string[]): Promise<string> {
  const binary = path.join(POSTGRES_BIN, command);
  const { stdout } = asRoot
    ? await run('runuser', ['-u', 'postgres', '--', binary, ...args], { cwd: '/' })
    : await run(binary, args);
  return stdout;
}
