import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express, Request, Response } from 'express';

/**
 * GraphiQL for development, served by this service from npm packages — GraphiQL's own
 * prebuilt bundle and React's UMD builds from node_modules — so it works without the internet:
 * Apollo's landing page loaded its UI, fonts and favicon from a CDN, and offline it was blank.
 * GraphiQL's stylesheet carries its fonts inline (data: URLs), and the page asks for nothing
 * else (its favicon is an empty data: URL).
 *
 * `GET /graphql` with `Accept: text/html` answers the page; every other request to /graphql
 * goes on to the router-secret check and Apollo as before. The page holds no secret: its
 * headers editor starts with the router-secret header's *name* and an empty value for the
 * developer to fill in. Never mounted in production (src/http/app.ts).
 */

export interface ExplorerOptions {
  /** The header the router secret travels in (ROUTER_SECRET_HEADER). */
  routerSecretHeader: string;
}

/** URL path → [package, file in it, content type]. */
const ASSETS: Record<string, [string, string, string]> = {
  'react.js': ['react', 'umd/react.production.min.js', 'text/javascript'],
  'react-dom.js': ['react-dom', 'umd/react-dom.production.min.js', 'text/javascript'],
  'graphiql.js': ['graphiql', 'graphiql.min.js', 'text/javascript'],
  'graphiql.css': ['graphiql', 'graphiql.min.css', 'text/css'],
};

/** Where the page's scripts and stylesheet are served. */
export const EXPLORER_ASSETS_PATH = '/explorer/assets';

const EXAMPLE_OPERATION = `# Purchases that reached COLLECTED in a time window (when this service learned of it),
# then a page of the purchase list. Fill in the router secret under Headers below when
# ROUTER_SECRET is set.
query CollectedInWindow($from: DateTime!, $to: DateTime!) {
  groupPurchaseChanges(
    filter: { statuses: [COLLECTED], receivedAfter: $from, receivedBefore: $to }
    first: 20
  ) {
    edges { node { receivedAt purchase { purchaseId status numPeople } } }
    pageInfo { endCursor hasNextPage }
  }
  groupPurchasesConnection(first: 5) {
    edges { cursor node { purchaseId name status } }
    pageInfo { endCursor hasNextPage }
  }
}
`;

/**
 * Mounts the page and its assets. Throws at start when a package is missing (a production
 * install without devDependencies run in development): the message names the packages.
 */
export function mountExplorer(app: Express, options: ExplorerOptions): void {
  const files = loadAssets();
  app.get(`${EXPLORER_ASSETS_PATH}/:name`, (req: Request, res: Response) => {
    const asset = files.get(String(req.params.name));
    if (!asset) {
      res.status(404).json({ error: `No explorer asset ${req.params.name}.` });
      return;
    }
    res.type(asset.type).set('cache-control', 'public, max-age=3600').send(asset.body);
  });
  app.get('/explorer/start.js', (_req, res) => {
    res.type('text/javascript').send(startScript(options));
  });
  app.get('/graphql', (req, res, next) => {
    // A browser prefers HTML; a GET operation (?query=…) or a JSON client goes on to Apollo.
    if (
      req.query.query !== undefined ||
      req.accepts(['application/json', 'text/html']) !== 'text/html'
    ) {
      next();
      return;
    }
    res.type('html').send(PAGE);
  });
}

function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const require = createRequire(import.meta.url);
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const [name, [pkg, file, type]] of Object.entries(ASSETS)) {
    let body: Buffer;
    try {
      // Through package.json: the packages' `exports` do not list their prebuilt bundles.
      body = readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file));
    } catch {
      throw new Error(
        `The development explorer needs ${pkg}/${file} (npm packages graphiql, react, ` +
          'react-dom: devDependencies). Install them (npm ci), or run with NODE_ENV=production.',
      );
    }
    files.set(name, { type, body });
  }
  return files;
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>payments subgraph · GraphiQL</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${EXPLORER_ASSETS_PATH}/graphiql.css" />
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="${EXPLORER_ASSETS_PATH}/react.js"></script>
    <script src="${EXPLORER_ASSETS_PATH}/react-dom.js"></script>
    <script src="${EXPLORER_ASSETS_PATH}/graphiql.js"></script>
    <script src="/explorer/start.js"></script>
  </body>
</html>
`;

/** The script that renders GraphiQL against this service's /graphql (HTTP and WebSocket). */
function startScript(options: ExplorerOptions): string {
  const config = {
    query: EXAMPLE_OPERATION,
    variables: JSON.stringify(
      { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' },
      null,
      2,
    ),
    headers: JSON.stringify({ [options.routerSecretHeader]: '' }, null, 2),
  };
  return `(function () {
  var config = ${JSON.stringify(config)};
  var url = location.origin + '/graphql';
  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: url.replace(/^http/, 'ws'),
  });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.query,
      defaultVariables: config.variables,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    }),
  );
})();
`;
}
