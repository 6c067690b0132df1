/** Where a store lives, parsed from a STORE_URL value. */
export type StoreLocation =
  | { kind: 'memory' }
  | {
      kind: 'sqlite';
      /** As written, relative to the working directory unless absolute. */
      path: string;
    }
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; url: string };

const ACCEPTED_FORMS =
  'memory:// (in-process, lost on restart); ' +
  'sqlite:<path> or sqlite://<path> (a file, relative to the working directory unless ' +
  'absolute, e.g. sqlite:data/payments.db); ' +
  'redis://[[user]:password@]host[:port][/db] or rediss://… (TLS); ' +
  'postgres://user:password@host[:port]/database or postgresql://…';

/**
 * Parses a store URL. Throws an Error naming STORE_URL, quoting what arrived (password removed)
 * and listing the accepted forms — this is the message an operator sees at startup.
 */
export function parseStoreUrl(url: string): StoreLocation {
  const trimmed = url.trim();
  if (trimmed.toLowerCase() === 'memory://') return { kind: 'memory' };

  if (/^sqlite:/i.test(trimmed)) {
    const rest = trimmed.slice('sqlite:'.length);
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path) return { kind: 'sqlite', path };
  }

  if (/^rediss?:\/\//i.test(trimmed)) {
    const parsed = tryParseUrl(trimmed);
    if (parsed?.hostname) return { kind: 'redis', url: trimmed };
  }

  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    const parsed = tryParseUrl(trimmed);
    if (parsed?.hostname && parsed.pathname.length > 1) return { kind: 'postgres', url: trimmed };
  }

  throw new Error(
    `STORE_URL ${JSON.stringify(redactUrl(url))} is not a store this service can open. ` +
      `Accepted forms: ${ACCEPTED_FORMS}.`,
  );
}

/**
 * The URL without its password, for logs, errors and `Store.description`. The user name stays:
 * Redis ACL and PostgreSQL role names are not secrets and help tell deployments apart. A
 * PostgreSQL URL's `?password=…` query parameter goes too.
 */
export function redactUrl(url: string): string {
  const parsed = tryParseUrl(url);
  if (parsed) {
    const queryPassword = parsed.searchParams.has('password');
    if (!parsed.password && !queryPassword) return url;
    parsed.password = '';
    if (queryPassword) parsed.searchParams.delete('password');
    return parsed.toString();
  }
  // Not a URL the WHATWG parser accepts: still strip anything shaped like `//user:secret@`.
  return url.replace(/\/\/([^/@:]*):[^/@]*@/, (_match, user: string) =>
    user ? `//${user}@` : '//',
  );
}

function tryParseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
