import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './project.js';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (`apt-get install postgresql`). */
const BIN = '/usr/lib/postgresql/15/bin';

export interface BenchPostgres {
  /** STORE_URL of the bench's database. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL server for the PostgreSQL rows, in `dir/postgres` on a free port, with
 * the server's defaults (fsync on: the rows measure what a deployment pays for durability).
 * Undefined when PostgreSQL 15 is not installed: those rows are left out, and the report says
 * why. Run as root, the server runs as the `postgres` system user (it refuses root).
 */
export async function startBenchPostgres(dir: string): Promise<BenchPostgres | undefined> {
  if (!existsSync(join(BIN, 'initdb'))) return undefined;
  const home = join(dir, 'postgres');
  mkdirSync(home, { recursive: true });
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(home, ...postgresIds());
  const data = join(home, 'data');
  const pg = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { cwd: '/' })
      : run(join(BIN, command), args);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const port = await freePort();
  const settings = `-p ${port} -k ${home} -c listen_addresses=127.0.0.1`;
  await pg('pg_ctl', ['-D', data, '-l', join(home, 'log'), '-o', settings, '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    },
  };
}

function postgresIds(): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres system user (is the postgresql package installed?)');
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}
