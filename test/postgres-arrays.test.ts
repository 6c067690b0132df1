import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boolArray, int4Array, int8Array, textArray } from '../src/store/postgres-arrays.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';

const skip = postgresSkipReason();

/**
 * The state log sends its rows as binary array parameters (src/store/postgres-arrays.ts) instead of
 * pg's escaped text literals. A wrong length, a wrong element type or an escaping slip would
 * corrupt stored JSON or fail only on some inputs, so every encoder goes through a real server
 * and back, with the characters the text form has to escape and the integers JSON cannot hold.
 */
describe.skipIf(skip !== undefined)(`binary array parameters${skip ? ` (${skip})` : ''}`, () => {
  let server: PostgresServer;
  let client: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: await server.createDatabase() });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await server?.close();
  });

  const roundTrip = async (sql: string, parameter: Buffer): Promise<unknown[]> => {
    const { rows } = await client.query<{ v: unknown }>(
      `SELECT v FROM unnest(${sql}) WITH ORDINALITY AS t(v, n) ORDER BY n`,
      [parameter],
    );
    return rows.map((r) => r.v);
  };

  it('should store every text exactly, with what the text form must escape, and NULLs', async () => {
    const texts = [
      '{"a":"quote \\" backslash \\\\ brace } comma , NULL"}',
      '',
      'NULL',
      null,
      '"',
      '\\',
      '{}',
      'é 漢 😀 \u2028 U+0001 \u0001 tab \t newline \n',
      'x'.repeat(70_000),
      JSON.stringify({ lone: '\ud800' }),
    ];
    expect(await roundTrip('$1::text[]', textArray(texts))).toEqual(texts);
    const { rows } = await client.query<{ bytes: number[] }>(
      'SELECT array_agg(octet_length(v) ORDER BY n) AS bytes FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n)',
      [textArray(texts)],
    );
    expect(rows[0]!.bytes).toEqual(texts.map((t) => (t === null ? null : Buffer.byteLength(t))));
  });

  it('should send integers JSON cannot hold, negatives and NULLs as bigint', async () => {
    const values = [0, -1, 1_796_656_349_001, '9223372036854775807', -9223372036854775808n, null];
    const back = await roundTrip('$1::bigint[]', int8Array(values));
    expect(back).toEqual([
      '0',
      '-1',
      '1796656349001',
      '9223372036854775807',
      '-9223372036854775808',
      null,
    ]);
  });

  it('should send integers and booleans', async () => {
    expect(await roundTrip('$1::integer[]', int4Array([0, 1, -2, 2_147_483_647]))).toEqual([
      0, 1, -2, 2_147_483_647,
    ]);
    expect(await roundTrip('$1::boolean[]', boolArray([true, false, true]))).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('should send empty arrays', async () => {
    expect(await roundTrip('$1::text[]', textArray([]))).toEqual([]);
    expect(await roundTrip('$1::bigint[]', int8Array([]))).toEqual([]);
    expect(await roundTrip('$1::integer[]', int4Array([]))).toEqual([]);
    expect(await roundTrip('$1::boolean[]', boolArray([]))).toEqual([]);
  });

  it('should refuse what the column could not hold, before anything is sent', () => {
    expect(() => int8Array([1.5])).toThrow(RangeError);
    expect(() => int4Array([1.5])).toThrow(/not an integer: 1.5/);
  });

  it('should be refused by the server when the element type does not match the cast', async () => {
    await expect(client.query('SELECT $1::text[]', [int8Array([1])])).rejects.toThrow(
      /element type 20 \(bigint\) instead of expected 25 \(text\)/,
    );
  });
});
