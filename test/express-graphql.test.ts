import { parse as urlParse } from 'node:url';
import { describe, expect, it } from 'vitest';
import { searchOf } from '../src/http/express-graphql.js';

/**
 * The handler cuts the query string out of `req.url` instead of `url.parse`: Apollo Server
 * reads it with URLSearchParams, so both must give the same parameters for any request target.
 */
describe('searchOf', () => {
  const targets = [
    '/',
    '/?',
    '/?query=%7B%20a%20%7D',
    '/?query={ collectBatch(id: "x") { id } }&variables={"a":1}',
    "/?query=it's <b>&operationName=Op",
    '/?a=1&a=2#fragment',
    '/path?x=1?y=2',
    '?query=a+b',
  ];

  it('should give URLSearchParams the same parameters as url.parse did', () => {
    for (const target of targets) {
      const before = [...new URLSearchParams(urlParse(target).search ?? '')];
      expect([...new URLSearchParams(searchOf(target))], target).toEqual(before);
    }
  });

  it('should answer empty without a query string and keep the question mark with one', () => {
    expect([searchOf('/'), searchOf('/?'), searchOf('/?a=1#x')]).toEqual(['', '?', '?a=1']);
  });
});
