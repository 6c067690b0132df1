import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { getOperationAST, parse } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../src/config.js';
import { freePort, ROOT, spawnService, tempDir, type ServiceProcess } from './helpers/process.js';
import { connectWs, subscribe, type Live } from './helpers/ws.js';

const run = promisify(execFile);

/**
 * Replays README.md's examples in README order against `npm start` (the real process, with its
 * defaults except free ports and a temporary store), so the README cannot drift from the code.
 *
 * What is replayed (see "Checking the README" in README.md):
 * - ```sh / ```bash blocks run in bash (`set -euo pipefail`) from the repository root, with
 *   PORT, CHILLR_SANDBOX_PORT and PBG_SANDBOX_PORT set to the ports in use; exit status 0.
 * - ```graphql query/mutation blocks are POSTed to /graphql; no `errors`.
 * - ```graphql subscription blocks are opened over graphql-ws (and known to be live through a
 *   probe push) and stay open; by the end of the README each must have delivered an event.
 * - Other blocks (yaml, text, …) are not run.
 * Markers in HTML comments on the lines just before a block:
 *   <!-- replay: skip: why -->   not run (say why: needs a browser, starts a server, …)
 *   <!-- replay: expect: TEXT --> its output (for a subscription: its events) contains TEXT
 */
interface Block {
  /** Where it is: `README.md` or `docs/….md`. */
  file: string;
  line: number;
  lang: string;
  code: string;
  skip?: string;
  expect: string[];
}

function readmeBlocks(markdown: string, file: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let markers: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^(\s*)```(\S*)\s*$/.exec(line);
    const marker = /^\s*<!--\s*replay:\s*(.*?)\s*-->\s*$/.exec(line);
    if (marker) {
      markers.push(marker[1]!);
      continue;
    }
    if (!fence) {
      if (line.trim() !== '') markers = [];
      continue;
    }
    const indent = fence[1]!.length;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    const code = lines
      .slice(start, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    const skip = markers.find((m) => m.startsWith('skip'));
    blocks.push({
      file,
      line: start,
      lang: fence[2]!,
      code,
      skip: skip === undefined ? undefined : skip.replace(/^skip:?\s*/, '') || 'no reason given',
      expect: markers.filter((m) => m.startsWith('expect:')).map((m) => m.slice(7).trim()),
    });
    markers = [];
    i = end;
  }
  return blocks;
}

/**
 * The README, then the docs that hold more examples, in reading order: one replay, so a later
 * example may build on an earlier one and every subscription must have heard by the end.
 */
const REPLAYED_FILES = [
  'README.md',
  'docs/examples.md',
  'docs/supergraph.md',
  'docs/behaviour.md',
  'docs/caching.md',
  'docs/behind-a-router.md',
  'docs/operating.md',
  'docs/money-safety.md',
  'docs/change-log.md',
  'docs/sandbox.md',
  'docs/benchmarks.md',
];
const REPLAYED = new Set(['sh', 'bash', 'graphql']);
const blocks = REPLAYED_FILES.flatMap((file) =>
  readmeBlocks(readFileSync(path.join(ROOT, file), 'utf8'), file),
).filter((b) => REPLAYED.has(b.lang));

describe('README.md and the docs replayed in order against npm start', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ServiceProcess;
  let env: Record<string, string>;
  let ws: Client;
  const subscriptions: { block: Block; live: Live<unknown> }[] = [];

  beforeAll(async () => {
    dir = await tempDir('payments-readme-');
    env = {
      NODE_ENV: 'development',
      PORT: String(await freePort()),
      CHILLR_SANDBOX_PORT: String(await freePort()),
      PBG_SANDBOX_PORT: String(await freePort()),
      STORE_URL: `sqlite:${dir.dir}/payments.db`,
    };
    service = await spawnService(env);
    ws = connectWs(service.url);
  }, 60_000);
  afterAll(async () => {
    for (const { live } of subscriptions) live.stop();
    await ws?.dispose();
    if (service) expect(await service.stop()).toBe(0);
    await dir?.remove();
  });

  it('should have examples to replay', () => {
    expect(blocks.filter((b) => !b.skip).length).toBeGreaterThan(5);
  });

  for (const block of blocks) {
    const name = `${block.file} line ${block.line} (${block.lang})${block.skip ? ` — skipped: ${block.skip}` : ''}`;
    it.skipIf(block.skip !== undefined)(name, { timeout: 60_000 }, async () => {
      let output: string;
      if (block.lang === 'graphql') {
        const operation = getOperationAST(parse(block.code));
        if (operation?.operation === 'subscription') {
          const live = subscribe<unknown>(ws, block.code);
          subscriptions.push({ block, live });
          await untilLive();
          return;
        }
        output = await postGraphql(block.code);
      } else {
        output = await runShell(block.code);
      }
      for (const text of block.expect) expect(output, `output of ${name}`).toContain(text);
    });
  }

  it(
    'should have delivered an event to every README subscription',
    { timeout: 60_000 },
    async () => {
      for (const { block, live } of subscriptions) {
        const [first] = await live.waitFor(1, 30_000);
        expect(live.errors, `${block.file} line ${block.line}`).toEqual([]);
        for (const text of block.expect) {
          await expect.poll(() => JSON.stringify(live.events), { timeout: 30_000 }).toContain(text);
        }
        expect(first).toBeDefined();
      }
    },
  );

  async function runShell(code: string): Promise<string> {
    const result = await run('bash', ['-c', `set -euo pipefail\n${code}`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeout: 55_000,
    }).catch((error: { code: number; stdout: string; stderr: string }) => {
      throw new Error(
        `exit ${error.code}\n--- stdout\n${error.stdout}\n--- stderr\n${error.stderr}\n--- block\n${code}`,
      );
    });
    return result.stdout;
  }

  async function postGraphql(query: string): Promise<string> {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect((JSON.parse(text) as { errors?: unknown }).errors, text).toBeUndefined();
    return text;
  }

  /**
   * The subscriptions opened so far on `ws` are live once a probe subscription opened after them
   * on the same connection hears a change push (the pattern of test/helpers/ws.ts untilLive).
   */
  async function untilLive(): Promise<void> {
    const probeId = `README_PROBE_${randomUUID()}`;
    const probe = subscribe(
      ws,
      `subscription { groupPurchaseChanged(filter: { purchaseIds: ["${probeId}"] }) { eventId } }`,
    );
    try {
      for (let attempt = 1; attempt <= 50; attempt++) {
        await fetch(`${service.url}/pbg/change_push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            merchant_auth: SANDBOX_DEFAULTS.pbgMerchantAuth,
            events: [{ purchase_id: probeId, status: 'pending', num_people: attempt }],
          }),
        });
        if (
          await probe.waitFor(1, 200).then(
            () => true,
            () => false,
          )
        )
          return;
      }
      throw new Error('README subscription never became live');
    } finally {
      probe.stop();
    }
  }
});
