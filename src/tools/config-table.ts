import { documentedVariables } from '../config/variables.js';

/**
 * The README's configuration table, generated from the configuration table
 * (src/config/variables.ts): one row per variable, in its order, with its README default and
 * meaning. `npm run config:readme` writes it between the markers below; test/config-table.test.ts
 * fails when the README holds anything else there.
 */
export const TABLE_START =
  '<!-- config-table: generated from src/config/variables.ts by `npm run config:readme`; edit there -->';
export const TABLE_END = '<!-- /config-table -->';

/** The table as Markdown, before prettier aligns its columns. */
export function configTableMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = documentedVariables().map(
    ({ name, shown, meaning }) => `| \`${name}\` | ${cell(shown)} | ${cell(meaning)} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}

/**
 * `readme` with the text between its markers replaced by the generated table, formatted as
 * prettier formats README.md (aligned columns), so `npm run lint` accepts what is written.
 * Throws when the markers are missing.
 */
export async function readmeWithConfigTable(readme: string, readmePath: string): Promise<string> {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(
      `${readmePath} has no configuration table markers: put ${TABLE_START} and ${TABLE_END} on their own lines around the table.`,
    );
  }
  // Loaded here: prettier is a dev dependency, and only this tool and its test need it.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(readmePath)) ?? {};
  const table = await prettier.format(configTableMarkdown(), { ...options, parser: 'markdown' });
  return `${readme.slice(0, start)}${TABLE_START}\n\n${table}\n${readme.slice(end)}`;
}
