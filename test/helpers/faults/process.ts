import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExecutionResult } from 'graphql';
import { TEST_SECRETS } from '../app.js';
import { spawnService } from '../process.js';

/**
 * The service as a separate process (`node dist/src/main.js`), so a test can `kill -9` it in
 * the middle of a money-moving call and let another instance, sharing its store, pick the key up.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');

export interface ServiceProcess {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Every line the process wrote (stdout and stderr). */
  logs: string[];
  /** POSTs GraphQL to the process, like TestApp.raw. */
  raw(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; json: ExecutionResult; body: string }>;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Why dist cannot be used (missing, or older than a source file it is built from), or
 * undefined. `npm test` builds it first (schema:check); run `npm run build` before vitest alone.
 */
export function staleDist(): string | undefined {
  let built: number;
  try {
    built = statSync(MAIN).mtimeMs;
  } catch {
    return `${relative(ROOT, MAIN)} is missing: run \`npm run build\` first`;
  }
  const newer = ['src', 'resolvers']
    .flatMap((dir) => sources(join(ROOT, dir)))
    .filter((file) => statSync(file).mtimeMs > built);
  if (newer.length === 0) return undefined;
  return `dist is older than ${newer.map((f) => relative(ROOT, f)).join(', ')}: run \`npm run build\` first`;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Starts the built service with `env` (plus the test credentials) and waits until it listens. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const service = await spawnService({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    PBG_CACHE_TTL_MS: '0',
    // Tests read right after changing the simulators; the status cache has its own tests.
    CHILLR_STATUS_CACHE_MS: '0',
    ...TEST_SECRETS,
    ...env,
  });
  const { url } = service;
  return {
    url,
    logs: service.output,
    async raw(query, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = await response.text();
      return { status: response.status, json: JSON.parse(body) as ExecutionResult, body };
    },
    async kill(signal) {
      await service.stop(signal);
    },
  };
}
