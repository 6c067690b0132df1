/**
 * The configuration table: every environment variable the service (and `npm run supergraph`)
 * reads, with its kind and bounds, its value when unset and its row of the README's
 * configuration table. It is the one owner of those facts:
 * - src/config.ts reads each variable through it (`read.get('PORT')`), so a bound or a default
 *   changes here only;
 * - modules whose options come from configuration take their fallback from it
 *   (`VARIABLES.WS_KEEPALIVE_MS.default`) instead of repeating the number;
 * - `npm run config:readme` writes the README's table from it, and test/config-table.test.ts
 *   fails when the README, or what src/config.ts reads, differs from it.
 * How to add a variable: docs/operating.md, "Adding a configuration variable".
 */
import { EDGE_VARIABLES } from './edge.js';
import { GRAPHQL_VARIABLES } from './graphql.js';
import { SERVICE_VARIABLES } from './service.js';
import { SUPERGRAPH_VARIABLES } from './supergraph.js';
import { UPSTREAM_VARIABLES } from './upstreams.js';
import type { Variable } from './variable.js';

export { SANDBOX_DEFAULTS } from './upstreams.js';

/** Every variable, in the README's order (the groups' order, then each group's own). */
export const VARIABLES = {
  ...SERVICE_VARIABLES,
  ...EDGE_VARIABLES,
  ...UPSTREAM_VARIABLES,
  ...GRAPHQL_VARIABLES,
  ...SUPERGRAPH_VARIABLES,
};

type Table = typeof VARIABLES;
export type VariableName = keyof Table;
/** What reading the variable gives. */
export type ValueOf<K extends VariableName> =
  Table[K] extends Variable<infer T, infer _A> ? T : never;
/** What else reading it needs (e.g. the upstream's base URL for a credential). */
export type ArgsOf<K extends VariableName> =
  Table[K] extends Variable<infer _T, infer A> ? A : never;

/** The README row of every variable, in order. */
export function documentedVariables(): { name: string; shown: string; meaning: string }[] {
  return Object.entries(VARIABLES).map(([name, variable]) => ({
    name,
    shown: variable.shown,
    meaning: variable.meaning,
  }));
}
