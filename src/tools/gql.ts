/**
 * `npm run -s gql -- [file.graphql] [options]`: runs one GraphQL operation against the running
 * service from a shell — no browser, no Apollo Sandbox (which needs the internet). The document
 * comes from the file, or from stdin (a heredoc). Queries and mutations are POSTed; a
 * subscription goes over graphql-ws and prints one JSON line per event until the server
 * completes it (or `--count` events arrived).
 *
 *   --var name=value     a String/ID variable (repeatable)
 *   --json-var name=JSON a variable of any type, as JSON (repeatable)
 *   --pick a.b.c         print only that path of `data` (strings unquoted), for shell capture
 *   --count N            subscriptions: stop after N events
 *   --url URL            @default http://localhost:$PORT/graphql (PORT as `npm start` reads it)
 *
 * Exit status 1 when the response carries `errors` (the body is still printed), 2 on bad usage.
 */
import { readFile } from 'node:fs/promises';
import { getOperationAST, parse, type DocumentNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../config.js';

interface Options {
  file?: string;
  variables: Record<string, unknown>;
  pick?: string;
  count?: number;
  url?: string;
}

class UsageError extends Error {}

function parseArgs(args: string[]): Options {
  const options: Options = { variables: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    const pair = (text: string): [string, string] => {
      const at = text.indexOf('=');
      if (at < 1) throw new UsageError(`${arg} expects name=value; got ${JSON.stringify(text)}`);
      return [text.slice(0, at), text.slice(at + 1)];
    };
    if (arg === '--var') {
      const [name, text] = pair(value());
      options.variables[name] = text;
    } else if (arg === '--json-var') {
      const [name, text] = pair(value());
      try {
        options.variables[name] = JSON.parse(text);
      } catch {
        throw new UsageError(`--json-var ${name}: not JSON: ${text}`);
      }
    } else if (arg === '--pick') options.pick = value();
    else if (arg === '--url') options.url = value();
    else if (arg === '--count') {
      options.count = Number(value());
      if (!Number.isInteger(options.count) || options.count < 1) {
        throw new UsageError('--count must be a whole number ≥ 1');
      }
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (options.file === undefined) options.file = arg;
    else throw new UsageError(`one document at a time; got ${options.file} and ${arg}`);
  }
  return options;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('give a .graphql file, or pipe the operation in (a heredoc)');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function picked(data: unknown, path: string): string {
  let value: unknown = data;
  for (const key of path.split('.')) {
    value = value === null || typeof value !== 'object' ? undefined : (value as never)[key];
  }
  if (value === undefined) throw new Error(`--pick ${path}: no such path in the response`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The picked value, or the whole result: indented, or on one line when `compact`. */
function print(
  result: { data?: unknown; errors?: unknown },
  pick: string | undefined,
  compact: boolean,
): void {
  if (pick !== undefined && result.data != null && !result.errors) {
    process.stdout.write(`${picked(result.data, pick)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(result, null, compact ? 0 : 2)}\n`);
  }
}

async function post(url: string, query: string, options: Options): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const text = await response.text();
  let result: { data?: unknown; errors?: unknown };
  try {
    result = JSON.parse(text) as typeof result;
  } catch {
    process.stderr.write(`gql: HTTP ${response.status}, not JSON: ${text.slice(0, 500)}\n`);
    return 1;
  }
  print(result, options.pick, options.pick !== undefined);
  return result.errors || !response.ok ? 1 : 0;
}

async function subscribe(url: string, query: string, options: Options): Promise<number> {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  let received = 0;
  let failed = false;
  try {
    const events = client.iterate({ query, variables: options.variables });
    for await (const event of events) {
      received += 1;
      if (event.errors) failed = true;
      // One compact JSON line per event, so a shell can follow them (grep, tail -f).
      print(event, options.pick, true);
      if (options.count !== undefined && received >= options.count) break;
    }
  } finally {
    await client.dispose();
  }
  return failed ? 1 : 0;
}

async function main(): Promise<number> {
  let options: Options;
  let document: DocumentNode;
  let text: string;
  try {
    options = parseArgs(process.argv.slice(2));
    text = options.file === undefined ? await readStdin() : await readFile(options.file, 'utf8');
    document = parse(text);
  } catch (error) {
    if (error instanceof UsageError || (error as Error).name === 'GraphQLError') {
      process.stderr.write(`gql: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
  let url = options.url;
  if (url === undefined) {
    try {
      url = `http://localhost:${loadConfig().port}/graphql`;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
  }
  const operation = getOperationAST(document);
  return operation?.operation === 'subscription'
    ? subscribe(url, text, options)
    : post(url, text, options);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    process.stderr.write(
      cause === 'ECONNREFUSED'
        ? 'gql: nothing answers there; is `npm start` running (and on this PORT)?\n'
        : `gql: ${(error as Error).message}\n`,
    );
    process.exit(1);
  },
);
