import { readdir, readFile } from 'node:fs/promises';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, print, type DefinitionNode, type FragmentDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createOperationLimits } from '../src/http/plugin/limits/index.js';

const root = new URL('../', import.meta.url);

/** Each operation of test/operations/*.graphql as its own document (with the fragments). */
async function legitimateOperations(): Promise<Array<{ name: string; source: string }>> {
  const dir = new URL('test/operations/', root);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.graphql'));
  const definitions: DefinitionNode[] = [];
  for (const file of files)
    definitions.push(...parse(await readFile(new URL(file, dir), 'utf8')).definitions);
  const fragments = definitions.filter(
    (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
  );
  return definitions
    .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
    .map((operation) => {
      // The fragments it spreads, transitively (an unused one is a validation error).
      const used: DefinitionNode[] = [operation];
      for (let grew = true; grew;) {
        grew = false;
        const text = used.map((d) => print(d)).join('\n');
        for (const fragment of fragments) {
          if (!used.includes(fragment) && text.includes(`...${fragment.name.value}`)) {
            used.push(fragment);
            grew = true;
          }
        }
      }
      return {
        name: operation.name?.value ?? '(anonymous)',
        source: used.map((d) => print(d)).join('\n'),
      };
    });
}

describe('limits and legitimate traffic', () => {
  it('should pass every operation the tests and clients use, well inside the defaults', async () => {
    const sdl = await readFile(new URL('schema.graphql', root), 'utf8');
    const schema = buildSubgraphSchema([{ typeDefs: parse(sdl) }]);
    // Tighter than the defaults (30 aliases, depth 10, 5000 tokens, cost 5000): the README's
    // claims about the widest legitimate operation (createCollectBatch returning the batch
    // with its payments: 243 by the schema's @cost/@listSize).
    const limits = createOperationLimits({
      maxAliases: 30,
      maxDepth: 5,
      maxTokens: 5000,
      maxEntities: 1000,
      maxCost: 300,
      hideSuggestions: false,
    });
    const operations = await legitimateOperations();
    expect(operations.length).toBeGreaterThan(5);
    for (const { name, source } of operations) {
      const checked = limits.check(schema, source);
      expect(checked.errors?.map((e) => e.message) ?? [], name).toEqual([]);
      const document = 'document' in checked ? checked.document : undefined;
      const priced = document && limits.checkVariables(schema, document, undefined, {});
      expect(priced?.message, name).toBeUndefined();
    }
  });
});
