import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { GraphQLJSONObject } from 'graphql-scalars';

/**
 * The graph's scalars. Inputs are deliberately read as strings and checked for shape only:
 * whether "2026-13-01" is a real day or "2.345" a valid amount is decided by the service,
 * which reports it as a `userError` with the field's path — something a form can show beside
 * the field — instead of failing the whole operation in GraphQL validation.
 */

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  description: 'Calendar date, ISO-8601: 2026-05-27',
  serialize: (value) => outputString('Date', value, /^\d{4}-\d{2}-\d{2}$/),
  parseValue: (value) => inputString('Date', value, 'a string such as "2026-05-27"'),
  parseLiteral: (ast) => literalString('Date', ast, 'a string such as "2026-05-27"'),
});

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'Instant, ISO-8601 with offset: 2026-05-27T23:59:00-08:00',
  serialize: (value) =>
    outputString('DateTime', value instanceof Date ? value.toISOString() : value, DATE_TIME),
  parseValue: (value) => checkDateTime(inputString('DateTime', value, EXAMPLE_DATE_TIME)),
  parseLiteral: (ast) => checkDateTime(literalString('DateTime', ast, EXAMPLE_DATE_TIME)),
});

export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description: 'Exact decimal as a string, never a float: "200.00"',
  serialize: (value) => outputString('Decimal', value, /^-?\d+(\.\d+)?$/),
  parseValue: (value) => {
    if (typeof value === 'number' && Number.isInteger(value)) return String(value);
    return inputString('Decimal', value, 'a string such as "200.00" (floats lose cents)');
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT) return ast.value;
    return literalString('Decimal', ast, 'a string such as "200.00" (floats lose cents)');
  },
});

export const JSONObjectScalar = GraphQLJSONObject;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const EXAMPLE_DATE_TIME = 'a string such as "2026-05-27T23:59:00-08:00"';

function checkDateTime(value: string): string {
  if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError(`DateTime must be ${EXAMPLE_DATE_TIME}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function outputString(name: string, value: unknown, shape: RegExp): string {
  if (typeof value === 'string' && shape.test(value)) return value;
  // A resolver bug, not the caller's fault: fail the field loudly.
  throw new GraphQLError(`${name} cannot represent ${JSON.stringify(value)}.`);
}

function inputString(name: string, value: unknown, expected: string): string {
  if (typeof value === 'string') return value;
  throw new GraphQLError(
    `${name} must be ${expected}; got ${typeof value} ${JSON.stringify(value)}.`,
  );
}

function literalString(name: string, ast: ValueNode, expected: string): string {
  if (ast.kind === Kind.STRING) return ast.value;
  throw new GraphQLError(`${name} must be ${expected}; got a ${ast.kind} literal.`);
}
