import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * How many `_entities` representations an operation asks for, over every `_entities` field at
 * its root (aliases and root fragments included): the length of each `representations` list,
 * written inline or passed as a variable.
 *
 * Representations are variables, so the token, alias and depth limits never see them: a
 * 300 KB request with 5,000 of them was 5,000 upstream calls. Counting them needs the
 * variables, so this runs once the operation is resolved (Apollo's `didResolveOperation`,
 * graphql-ws's `onSubscribe`), still before anything executes. A `representations` value that
 * is not a list counts 0 here; graphql-js refuses it when coercing variables.
 */
export function countRepresentations(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  if (operation.operation !== 'query') return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  return countIn(operation.selectionSet, fragments, variables ?? {}, new Set());
}

function countIn(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Readonly<Record<string, unknown>>,
  seen: Set<string>,
): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '_entities') continue;
      const argument = selection.arguments?.find((a) => a.name.value === 'representations');
      if (argument) total += lengthOf(argument.value, variables);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      total += countIn(selection.selectionSet, fragments, variables, seen);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // Each spread counts (an over-count at worst); `seen` only stops a cycle.
      if (!fragment || seen.has(name)) continue;
      total += countIn(fragment.selectionSet, fragments, variables, new Set([...seen, name]));
    }
  }
  return total;
}

function lengthOf(value: ValueNode, variables: Readonly<Record<string, unknown>>): number {
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const bound = variables[value.name.value];
    return Array.isArray(bound) ? bound.length : 0;
  }
  return 0;
}
