import {
  getNamedType,
  isObjectType,
  Kind,
  TypeInfo,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * What an operation needs, read from the schema's own `@authenticated` and `@requiresScopes`
 * (the directives the router enforces): one source of truth, so a field added later needs
 * only its directives. `scopes` holds one entry per annotated element the operation touches;
 * each entry is `@requiresScopes`' own shape, alternatives of scopes that must all be held
 * (`[["a", "b"], ["c"]]` = a and b, or c). All entries must be satisfied.
 */
export interface Requirement {
  authenticated: boolean;
  scopes: string[][][];
}

type Annotated = { astNode?: { directives?: readonly ConstDirectiveNode[] } | null };

/** Directives of a field or type, also when it was written as an `extend type`. */
function directivesOf(
  element: Annotated & { extensionASTNodes?: readonly Annotated['astNode'][] },
) {
  return [
    ...(element.astNode?.directives ?? []),
    ...(element.extensionASTNodes ?? []).flatMap((node) => node?.directives ?? []),
  ];
}

/** Matches the imported name and the namespaced one (`@federation__requiresScopes`). */
function named(directive: ConstDirectiveNode, name: string): boolean {
  const value = directive.name.value;
  return value === name || value === `federation__${name}`;
}

const cache = new WeakMap<object, Requirement>();

/** The requirement one field or type carries by itself (memoised per schema element). */
export function requirementOf(
  element: GraphQLField<unknown, unknown> | GraphQLNamedType,
): Requirement {
  const known = cache.get(element);
  if (known) return known;
  const requirement: Requirement = { authenticated: false, scopes: [] };
  for (const directive of directivesOf(element as Annotated)) {
    if (named(directive, 'authenticated')) requirement.authenticated = true;
    if (named(directive, 'requiresScopes')) {
      requirement.authenticated = true;
      const argument = directive.arguments?.find((a) => a.name.value === 'scopes');
      const value = argument ? valueFromASTUntyped(argument.value) : [];
      if (Array.isArray(value))
        requirement.scopes.push(
          value.map((all) => (Array.isArray(all) ? all.map(String) : [String(all)])),
        );
    }
  }
  cache.set(element, requirement);
  return requirement;
}

/**
 * Everything the selected operation (and the fragments it spreads) touches: each selected
 * field's own directives, and its parent type's — which is how `_entities { ... on
 * CollectBatch { id } }` needs what `CollectBatch` declares.
 */
export function operationRequirement(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Requirement {
  const total: Requirement = { authenticated: false, scopes: [] };
  const seen = new Set<Requirement>();
  const add = (requirement: Requirement) => {
    if (seen.has(requirement)) return;
    seen.add(requirement);
    total.authenticated ||= requirement.authenticated;
    total.scopes.push(...requirement.scopes);
  };
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Field() {
      const parent = typeInfo.getParentType();
      if (parent && isObjectType(parent)) add(requirementOf(parent));
      const field = typeInfo.getFieldDef();
      if (field) {
        add(requirementOf(field));
        const type = getNamedType(field.type);
        if (isObjectType(type)) add(requirementOf(type));
      }
    },
  });
  for (const node of [operation, ...fragmentsUsed(document, operation)]) visit(node, visitor);
  return total;
}

function fragmentsUsed(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): FragmentDefinitionNode[] {
  const byName = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const used = new Map<string, FragmentDefinitionNode>();
  const pending: Array<OperationDefinitionNode | FragmentDefinitionNode> = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const fragment = byName.get(spread.name.value);
        if (fragment && !used.has(spread.name.value)) {
          used.set(spread.name.value, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return [...used.values()];
}

/** The first requirement `scopes` does not meet, or undefined when all are met. */
export function unmetScopes(
  requirement: Requirement,
  scopes: ReadonlySet<string>,
): string[][] | undefined {
  return requirement.scopes.find(
    (alternatives) => !alternatives.some((all) => all.every((scope) => scopes.has(scope))),
  );
}
