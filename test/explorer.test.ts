import { Window } from 'happy-dom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * The development explorer: GraphiQL served by this service from npm packages, so it works
 * offline. GET /graphql over real HTTP names its scripts and stylesheet; each loads from this
 * service, and run in a DOM (happy-dom) they render GraphiQL.
 */

const SECRET = 'router-secret-explorer-7c1d9e';

describe('the explorer in development', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ ROUTER_SECRET: SECRET });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should load every script and stylesheet from this service and render GraphiQL', async () => {
    const html = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(200);
    const page = await html.text();
    const urls = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(5);
    for (const url of urls) {
      if (url.startsWith('data:')) continue;
      expect(url.startsWith('/'), url).toBe(true);
      const asset = await fetch(`${app.url}${url}`);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get('content-type'), url).toMatch(/javascript|css/);
      const body = await asset.text();
      // Nothing fetched from elsewhere: fonts are inline, and no stylesheet imports another.
      if (url.endsWith('.css')) expect(body).not.toMatch(/url\((?!data:)|@import/);
    }

    // A browser's work, step by step: the page's scripts, fetched from the URLs it names over
    // real HTTP, run in order in a DOM (happy-dom) at the page's URL; GraphiQL renders.
    const window = new Window({
      url: `${app.url}/graphql`,
      settings: {
        enableJavaScriptEvaluation: true,
        suppressInsecureJavaScriptEnvironmentWarning: true,
      },
    });
    try {
      window.document.write(page.replace(/<script[^>]*><\/script>/g, ''));
      for (const [, src] of page.matchAll(/<script src="([^"]+)"><\/script>/g)) {
        window.eval(await (await fetch(`${app.url}${src}`)).text());
      }
      const doc = window.document;
      await expect
        .poll(() => doc.querySelector('.graphiql-container') !== null, { timeout: 10_000 })
        .toBe(true);
      // Its editors and the headers tab are there; the page holds no secret.
      expect(doc.querySelector('.graphiql-query-editor')).not.toBeNull();
      expect(doc.body.innerHTML).toMatch(/Headers/);
      expect(doc.documentElement.outerHTML).not.toContain(SECRET);
    } finally {
      await window.happyDOM.abort();
      await window.happyDOM.close();
    }
    const start = await (await fetch(`${app.url}/explorer/start.js`)).text();
    expect(start).toContain('router-authorization');
    expect(start).toContain('query CollectedInWindow');
    expect(start).not.toContain(SECRET);
  });

  it('should still refuse an operation without the router secret', async () => {
    const refused = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(401);
    const json = await fetch(`${app.url}/graphql?query=%7B__typename%7D`, {
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(401);
  });
});

describe('the explorer in production', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      NODE_ENV: 'production',
      CHILLR_BASE_URL: 'http://127.0.0.1:9',
      PBG_BASE_URL: 'http://127.0.0.1:9',
      PBG_MERCHANT_ID: 'M1',
      ROUTER_SECRET: SECRET,
      SUBSCRIPTION_CALLBACK_ENABLED: 'false',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should serve no page and no assets', async () => {
    const page = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql|embeddable-sandbox/i);
    const asset = await fetch(`${app.url}/explorer/assets/graphiql.js`);
    expect(asset.status).toBe(404);
  });
});
