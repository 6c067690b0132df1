import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * An operation's cost by the schema's own demand-control directives (Federation 2.9 `@cost`,
 * `@listSize`), the way a router's static estimate reads them — so the subgraph's second line
 * and the router agree on what an operation costs:
 *
 * - a field costs its `@cost(weight:)`, else its type's, else 1 for an object and 0 for a
 *   scalar or enum, plus what it selects;
 * - a list multiplies that by its size: the value of its `@listSize` slicing argument (read
 *   from the variables when passed as one, else the argument's default), else `assumedSize`;
 *   with `sizedFields` (a connection) the size applies to those child fields (`edges`) instead;
 * - `_entities` counts as one element: how many representations may come is
 *   GRAPHQL_MAX_ENTITIES's business, and a router's legitimate 1,000-reference call must
 *   not be refused by a budget meant for client operations;
 * - introspection and `__typename` are free; every fragment selected counts (an over-estimate
 *   at worst for a union with several type conditions).
 *
 * It replaced graphql-armor's structural cost, which multiplied a whole subtree by a literal
 * `first` (so `groupPurchaseChanges(first: 500)` with every field cost ≈ 33,000, over the
 * limit at anything above 126) and ignored a `first` passed as a variable.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  const walker = new CostWalker(schema, fragments, { ...(variables ?? {}) });
  return walker.selections(operation.selectionSet, root, undefined, new Set());
}

class CostWalker {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  selections(
    set: SelectionSetNode,
    parent: GraphQLCompositeType,
    sizes: Map<string, number> | undefined,
    spreading: Set<string>,
  ): number {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const field =
          isObjectType(parent) || isInterfaceType(parent)
            ? parent.getFields()[selection.name.value]
            : undefined;
        if (!field || selection.name.value.startsWith('__')) continue;
        total += this.field(selection, field, sizes?.get(selection.name.value), spreading);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? this.schema.getType(selection.typeCondition.name.value)
          : parent;
        if (!type || !isCompositeType(type)) continue;
        total += this.selections(selection.selectionSet, type, sizes, spreading);
      } else {
        const name = selection.name.value;
        const fragment = this.fragments.get(name);
        const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
        // A cycle is a validation error; stop rather than recurse.
        if (!fragment || !type || !isCompositeType(type) || spreading.has(name)) continue;
        total += this.selections(fragment.selectionSet, type, sizes, new Set([...spreading, name]));
      }
    }
    return total;
  }

  private field(
    node: FieldNode,
    field: GraphQLField<unknown, unknown>,
    sizeFromParent: number | undefined,
    spreading: Set<string>,
  ): number {
    const named = getNamedType(field.type);
    const weight =
      intArgument(field.astNode?.directives, 'cost', 'weight') ??
      typeWeight(named) ??
      (isCompositeType(named) ? 1 : 0);
    const listSize = field.astNode?.directives?.find((d) => d.name.value === 'listSize');
    const size = listSize ? this.sizeOf(node, field, listSize) : undefined;
    const sizedFields = stringListArgument(listSize, 'sizedFields');
    const isList = isListType(getNullableType(field.type)) && field.name !== '_entities';
    let multiplier = sizeFromParent ?? 1;
    let childSizes: Map<string, number> | undefined;
    if (sizedFields.length > 0) childSizes = new Map(sizedFields.map((f) => [f, size ?? 1]));
    else if (sizeFromParent === undefined && isList) multiplier = size ?? 1;
    const children =
      isCompositeType(named) && node.selectionSet
        ? this.selections(node.selectionSet, named, childSizes, spreading)
        : 0;
    return multiplier * (weight + children);
  }

  /** The slicing argument's value (variables and defaults applied), else `assumedSize`. */
  private sizeOf(
    node: FieldNode,
    field: GraphQLField<unknown, unknown>,
    listSize: ConstDirectiveNode,
  ): number | undefined {
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, this.variables);
    } catch {
      // A bad argument is graphql-js's to report; the assumed size stands meanwhile.
    }
    for (const name of stringListArgument(listSize, 'slicingArguments')) {
      const value = args[name];
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    }
    return intArgument([listSize], 'listSize', 'assumedSize');
  }
}

function typeWeight(type: GraphQLNamedType): number | undefined {
  const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
  for (const node of nodes) {
    const weight = intArgument(node?.directives, 'cost', 'weight');
    if (weight !== undefined) return weight;
  }
  return undefined;
}

function intArgument(
  directives: readonly ConstDirectiveNode[] | undefined,
  directive: string,
  argument: string,
): number | undefined {
  const value = directives
    ?.find((d) => d.name.value === directive)
    ?.arguments?.find((a) => a.name.value === argument)?.value;
  return value?.kind === Kind.INT ? Number(value.value) : undefined;
}

function stringListArgument(directive: ConstDirectiveNode | undefined, argument: string): string[] {
  const value = directive?.arguments?.find((a) => a.name.value === argument)?.value;
  if (value?.kind !== Kind.LIST) return [];
  return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
}
