import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { parseStoreUrl, redactUrl } from '../store/url.js';

/**
 * Where a simulator keeps its state between runs, beside the service's own store so that the
 * two cannot disagree after a restart: next to the SQLite file (`sqlite:data/payments.db` →
 * `data/sandbox-chillr.json`), under `data/` for a Redis store (one file per Redis server and
 * database), and nowhere for `memory://`
 * (tests: the simulator forgets everything with the process, like the store does).
 */
export function sandboxStatePath(
  storeUrl: string,
  simulator: 'chillr' | 'pbg',
): string | undefined {
  const location = parseStoreUrl(storeUrl);
  const file = `sandbox-${simulator}.json`;
  switch (location.kind) {
    case 'memory':
      return undefined;
    case 'sqlite':
      return path.join(path.dirname(location.path), file);
    case 'redis': {
      // One file per Redis server and database, so two Redis stores never share a sandbox.
      const server = createHash('sha256').update(redactUrl(location.url)).digest('hex').slice(0, 8);
      return path.join('data', `sandbox-${simulator}-${server}.json`);
    }
  }
}

/**
 * A JSON snapshot of a simulator's state. Every save replaces the whole file atomically
 * (write a temporary file, then rename), so a crash mid-write leaves the previous state.
 */
export class StateFile<T> {
  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /**
   * The saved state, or undefined when there is none yet. An unreadable file is moved aside
   * (`<file>.corrupt-<time>`) with a warning, and the simulator starts from its seed.
   */
  load(isState: (value: unknown) => value is T): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const value: unknown = JSON.parse(text);
      if (isState(value)) return value;
      throw new Error('unexpected shape');
    } catch (error) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      renameSync(this.path, aside);
      this.logger.warn(
        { file: this.path, movedTo: aside, reason: (error as Error).message },
        'sandbox state unreadable: moved aside, starting from the seeded state',
      );
      return undefined;
    }
  }

  save(state: T): void {
    mkdirSync(path.dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 1)}\n`);
    renameSync(temporary, this.path);
  }
}
