/**
 * One-dimensional PostgreSQL arrays in the binary wire format, for statement parameters.
 *
 * Why not pg's own array parameters: pg turns a JS array into the array's *text* literal,
 * escaping every `"` and `\` of every element with two regular-expression replaces
 * (`escapeElement`). The state log's elements are JSON texts, full of quotes: for a 5,000-write
 * commit (~8 MiB of JSON) that was ~80 ms of main-thread CPU per push in the bench's profile,
 * which is why commits were cut into statements of 500 rows. A Buffer parameter is sent by pg
 * as is, in binary format; the binary array form is a small header and then each element as
 * its length and its bytes — the UTF-8 bytes of the string, with nothing escaped. The server
 * checks the element type and each text's encoding (array_recv, textrecv) as it would for the
 * text form, and the statement's cast (`$1::text[]`) tells it the parameter's type.
 *
 * Format (PostgreSQL's array_send/array_recv, all integers big-endian): int32 number of
 * dimensions (1; 0 for an empty array, which has no dimension fields), int32 flags (1 when
 * any element is NULL), int32 element type OID, then per dimension int32 length and int32
 * lower bound (1), then per element int32 byte length (-1 for NULL) and the bytes.
 */

/** The element types' OIDs (pg_type). */
const OID = { bool: 16, int8: 20, int4: 23, text: 25 } as const;

function header(oid: number, length: number, hasNull: boolean, bodyBytes: number): Buffer {
  const size = length === 0 ? 12 : 20;
  const buffer = Buffer.allocUnsafe(size + bodyBytes);
  buffer.writeInt32BE(length === 0 ? 0 : 1, 0);
  buffer.writeInt32BE(hasNull ? 1 : 0, 4);
  buffer.writeInt32BE(oid, 8);
  if (length > 0) {
    buffer.writeInt32BE(length, 12);
    buffer.writeInt32BE(1, 16);
  }
  return buffer;
}

/** A `text[]` parameter; null elements are SQL NULL. */
export function textArray(values: ReadonlyArray<string | null>): Buffer {
  let bytes = 0;
  let hasNull = false;
  const lengths = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      hasNull = true;
      lengths[i] = -1;
      bytes += 4;
    } else {
      lengths[i] = Buffer.byteLength(value, 'utf8');
      bytes += 4 + lengths[i]!;
    }
  }
  const buffer = header(OID.text, values.length, hasNull, bytes);
  let at = values.length === 0 ? 12 : 20;
  for (let i = 0; i < values.length; i++) {
    const length = lengths[i]!;
    buffer.writeInt32BE(length, at);
    at += 4;
    if (length > 0) at += buffer.write(values[i]!, at, length, 'utf8');
  }
  return buffer;
}

/** A `bigint[]` parameter from integers (numbers, bigints or their decimal strings); null = NULL. */
export function int8Array(values: ReadonlyArray<number | bigint | string | null>): Buffer {
  const hasNull = values.some((v) => v === null || v === undefined);
  const bytes = values.reduce<number>(
    (sum, v) => sum + (v === null || v === undefined ? 4 : 12),
    0,
  );
  const buffer = header(OID.int8, values.length, hasNull, bytes);
  let at = values.length === 0 ? 12 : 20;
  for (const value of values) {
    if (value === null || value === undefined) {
      buffer.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    buffer.writeInt32BE(8, at);
    // BigInt() refuses a fraction or a non-number, as the server would refuse its text.
    buffer.writeBigInt64BE(BigInt(value), at + 4);
    at += 12;
  }
  return buffer;
}

/** An `integer[]` parameter. */
export function int4Array(values: readonly number[]): Buffer {
  const buffer = header(OID.int4, values.length, false, values.length * 8);
  let at = values.length === 0 ? 12 : 20;
  for (const value of values) {
    if (!Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
    buffer.writeInt32BE(4, at);
    buffer.writeInt32BE(value, at + 4);
    at += 8;
  }
  return buffer;
}

/** A `boolean[]` parameter. */
export function boolArray(values: readonly boolean[]): Buffer {
  const buffer = header(OID.bool, values.length, false, values.length * 5);
  let at = values.length === 0 ? 12 : 20;
  for (const value of values) {
    buffer.writeInt32BE(1, at);
    buffer.writeUInt8(value ? 1 : 0, at + 4);
    at += 5;
  }
  return buffer;
}
