import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import {
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type ObjectTypeDefinitionNode,
  type TypeNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { BILLING_SDL } from './helpers/billing-subgraph.js';

const schemaFile = new URL('../schema.graphql', import.meta.url);
const READ = '@requiresScopes(scopes: [["payments:read"]])';
const WRITE = '@requiresScopes(scopes: [["payments:write"]])';

/** `@name(args…)` as printed, e.g. `@requiresScopes(scopes: [["payments:read"]])`. */
function printed(directive: ConstDirectiveNode, sdl: string): string {
  return sdl.slice(directive.loc!.start, directive.loc!.end);
}

function directivesOf(node: { directives?: readonly ConstDirectiveNode[] }, sdl: string): string[] {
  return (node.directives ?? []).map((d) => printed(d, sdl));
}

function objectTypes(doc: DocumentNode): ObjectTypeDefinitionNode[] {
  return doc.definitions.filter(
    (d): d is ObjectTypeDefinitionNode =>
      d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION,
  ) as ObjectTypeDefinitionNode[];
}

function isList(type: TypeNode): boolean {
  if (type.kind === Kind.NON_NULL_TYPE) return isList(type.type);
  return type.kind === Kind.LIST_TYPE;
}

/** The type a field returns, without list or non-null wrappers. */
function namedTypeOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);
}

/**
 * `Type.field` lists sized by the field that returns their type (`@listSize(sizedFields:
 * ["edges"])` on a connection field covers `Connection.edges`).
 */
function sizedByParent(types: ObjectTypeDefinitionNode[], sdl: string): Set<string> {
  const sized = new Set<string>();
  for (const field of types.flatMap((t) => t.fields ?? [])) {
    for (const directive of directivesOf(field, sdl)) {
      const names = /sizedFields: \[([^\]]*)\]/.exec(directive)?.[1] ?? '';
      for (const [, name] of names.matchAll(/"([^"]+)"/g))
        sized.add(`${namedTypeOf(field.type)}.${name}`);
    }
  }
  return sized;
}

/** Federation's own fields: `_entities` is covered by the entity types' directives. */
const FEDERATION_FIELDS = new Set(['_entities', '_service']);

/**
 * Every problem with the auth and demand-control surface of one SDL, as readable lines, so a
 * new field without a scope (say, from a later change) fails with its name.
 */
function surfaceProblems(sdl: string): string[] {
  const doc = parse(sdl);
  const problems: string[] = [];
  const types = objectTypes(doc);
  const fieldsOf = (name: string): FieldDefinitionNode[] =>
    types.filter((t) => t.name.value === name).flatMap((t) => t.fields ?? []);
  for (const root of ['Query', 'Subscription']) {
    for (const field of fieldsOf(root)) {
      if (FEDERATION_FIELDS.has(field.name.value)) continue;
      const has = directivesOf(field, sdl);
      const where = `${root}.${field.name.value}`;
      if (!has.includes('@authenticated')) problems.push(`${where} lacks @authenticated`);
      if (!has.includes(READ)) problems.push(`${where} lacks ${READ}`);
      if (!has.some((d) => d.startsWith('@cost('))) problems.push(`${where} lacks @cost`);
    }
  }
  for (const field of fieldsOf('Mutation')) {
    const has = directivesOf(field, sdl);
    const where = `Mutation.${field.name.value}`;
    if (!has.includes(WRITE)) problems.push(`${where} lacks ${WRITE}`);
    if (!has.some((d) => d.startsWith('@cost('))) problems.push(`${where} lacks @cost`);
  }
  const sized = sizedByParent(types, sdl);
  for (const type of types) {
    const has = directivesOf(type, sdl);
    if (has.some((d) => d.startsWith('@key('))) {
      if (!has.includes('@authenticated'))
        problems.push(`entity ${type.name.value} lacks @authenticated`);
      if (!has.includes(READ)) problems.push(`entity ${type.name.value} lacks ${READ}`);
      if (!has.some((d) => d.startsWith('@cost(')))
        problems.push(`entity ${type.name.value} lacks @cost`);
    }
    if (type.name.value.startsWith('_')) continue;
    for (const field of type.fields ?? []) {
      if (FEDERATION_FIELDS.has(field.name.value) || !isList(field.type)) continue;
      if (sized.has(`${type.name.value}.${field.name.value}`)) continue;
      if (!directivesOf(field, sdl).some((d) => d.startsWith('@listSize(')))
        problems.push(`list ${type.name.value}.${field.name.value} lacks @listSize`);
    }
  }
  return problems;
}

describe('router directives in the SDL', () => {
  it('should compose with a second subgraph and carry auth and demand-control directives into the supergraph', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    const result = composeServices([
      { name: 'payments', typeDefs: parse(sdl), url: 'http://payments' },
      { name: 'billing', typeDefs: parse(BILLING_SDL), url: 'http://billing' },
    ]);
    expect(result.errors ?? []).toEqual([]);
    const supergraph = result.supergraphSdl ?? '';
    for (const spec of ['authenticated', 'requiresScopes', 'cost']) {
      expect(supergraph).toMatch(new RegExp(`@link\\(url: "https://specs\\.apollo\\.dev/${spec}/`));
    }
    const field = (name: string) =>
      new RegExp(`\\n\\s*${name}\\(.*\\n`).exec(supergraph)?.[0] ?? '';
    expect(field('createCollectBatch')).toContain(WRITE);
    expect(field('createCollectBatch')).toContain('@cost(weight: 20)');
    expect(field('performPurchaseAction')).toContain(WRITE);
    expect(field('collectBatch')).toContain('@authenticated');
    expect(field('collectBatch')).toContain(READ);
    expect(field('groupPurchases')).toContain('@listSize(assumedSize: 50');
    expect(field('collectBatchUpdated')).toContain(READ);
    for (const entity of ['CollectBatch', 'GroupPurchase']) {
      const head = new RegExp(`type ${entity}\\s[^{]*`).exec(supergraph)?.[0] ?? '';
      expect(head).toContain('@authenticated');
      expect(head).toContain(READ);
      expect(head).toContain('@cost(weight: 10)');
    }
  });

  it('should put read scopes on every query, subscription and entity and write scopes on every mutation in schema.graphql', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    expect(surfaceProblems(sdl)).toEqual([]);
  });

  it('should notice a field that comes without a scope', () => {
    const sdl = `
      type Query { a: Int @authenticated @requiresScopes(scopes: [["payments:read"]]) @cost(weight: 1) b: Int }
      type Mutation { m: Int @cost(weight: 1) }
      type E @key(fields: "id") { id: ID! tags: [String!]! }
      type Conn { edges: [E!]! }
      type Holder { page(first: Int = 5): Conn! @listSize(assumedSize: 5, slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false) }
    `;
    expect(surfaceProblems(sdl)).toEqual([
      `Query.b lacks @authenticated`,
      `Query.b lacks ${READ}`,
      `Query.b lacks @cost`,
      `Mutation.m lacks ${WRITE}`,
      `entity E lacks @authenticated`,
      `entity E lacks ${READ}`,
      `entity E lacks @cost`,
      `list E.tags lacks @listSize`,
    ]);
  });

  describe('served', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp();
    });
    afterAll(async () => {
      await app?.close();
    });

    it('should serve the same surface over _service { sdl }', async () => {
      const { json } = await app.raw('{ _service { sdl } }');
      const sdl = (json.data as { _service: { sdl: string } })._service.sdl;
      expect(sdl).toContain('@requiresScopes');
      expect(surfaceProblems(sdl)).toEqual([]);
    });
  });
});
