/**
 * The definitions of the directives `schema.graphql` uses, printed under its `@link`. A router's
 * composition does not need them (it knows Federation's own), but generic tools do: graphql-js
 * `buildSchema`, graphql-eslint and graphql-inspector refuse a schema whose directives have no
 * definition. These follow the Federation 2.9 specifications, with the names `@link` gives them
 * (imported directives by their short names; the specs' own scalars as `federation__…` and
 * `link__…`), so Apollo's, The Guild's and WunderGraph Cosmo's compositions accept them as
 * Federation's (test/composition.test.ts). `@cacheControl` is Apollo Server's, not Federation's:
 * type-graphql prints its definition itself (resolvers/common/cache-control.ts).
 *
 * A directive added to FEDERATION_LINK's import list needs its definition here: the
 * buildSchema test fails until it has one.
 */
export const FEDERATION_DEFINITIONS = `"""Links a specification (here Federation 2.9) and imports its directives by their short names"""
directive @link(url: String!, as: String, import: [link__Import], for: link__Purpose) repeatable on SCHEMA

"""An element a @link imports: a name such as @key, or {name, as}"""
scalar link__Import

"""What a linked specification is for"""
enum link__Purpose {
  """security: a router must understand it to serve the schema safely"""
  SECURITY
  """execution: a router must understand it to execute operations"""
  EXECUTION
}

"""Federation: the fields that identify an entity across subgraphs"""
directive @key(fields: federation__FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE

"""Federation: a selection set, such as id"""
scalar federation__FieldSet

"""Federation: a type or field more than one subgraph may resolve"""
directive @shareable repeatable on OBJECT | FIELD_DEFINITION

"""Federation: the router serves it only to an authenticated request"""
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

"""Federation: the router serves it only to a request with one of these sets of scopes"""
directive @requiresScopes(scopes: [[federation__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

"""Federation: an OAuth scope, such as payments:read"""
scalar federation__Scope

"""Federation demand control: what resolving this costs"""
directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR

"""Federation demand control: how long a list is, or which arguments size it"""
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION`;
