import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadSupergraphConfig } from '../src/config.js';
import { VARIABLES, documentedVariables } from '../src/config/variables.js';
import { readmeWithConfigTable, TABLE_END, TABLE_START } from '../src/tools/config-table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The environment variables a loader asks for, whether or not they are set. */
function namesRead(load: (env: Record<string, string | undefined>) => unknown): Set<string> {
  const asked = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(target, name) {
      if (typeof name === 'string') asked.add(name);
      return Reflect.get(target, name);
    },
  });
  load(env);
  return asked;
}

describe('the configuration table (src/config/variables.ts)', () => {
  it('should be exactly what src/config.ts reads: no variable read outside it, none listed unread', () => {
    const read = new Set([...namesRead(loadConfig), ...namesRead(loadSupergraphConfig)]);
    const listed = Object.keys(VARIABLES);
    expect(listed.length).toBeGreaterThan(60);
    expect([...read].filter((name) => !listed.includes(name))).toEqual([]);
    expect(listed.filter((name) => !read.has(name))).toEqual([]);
  });

  it('should give every variable a README default and meaning', () => {
    for (const { name, shown, meaning } of documentedVariables()) {
      expect(shown.trim(), name).not.toBe('');
      expect(meaning.trim(), name).not.toBe('');
    }
  });

  it('should hold the defaults the loaded configuration has when nothing is set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(VARIABLES.PORT.default);
    expect(config.wsKeepAliveMs).toBe(VARIABLES.WS_KEEPALIVE_MS.default);
    expect(config.pbg.changeLogTtlMs).toBe(VARIABLES.PBG_CHANGE_LOG_TTL_MS.default);
    expect(VARIABLES.PBG_CHANGE_LOG_TTL_MS.shown).toBe('`604800000` (7 days)');
    expect(VARIABLES.UPSTREAM_TIMEOUT_MS.shown).toBe('`10000`');
  });
});

describe("README.md's configuration table", () => {
  const file = path.join(ROOT, 'README.md');
  const readme = readFileSync(file, 'utf8');

  it('should be the one `npm run config:readme` generates from the configuration table', async () => {
    const generated = await readmeWithConfigTable(readme, file);
    const table = (text: string) =>
      text.slice(text.indexOf(TABLE_START), text.indexOf(TABLE_END) + TABLE_END.length);
    // The table alone first, for a readable diff; then the whole file (nothing else touched).
    expect(table(readme), 'run `npm run config:readme`').toBe(table(generated));
    expect(readme).toBe(generated);
  });

  it('should list every variable once, in the table order', () => {
    const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!);
    expect(rows).toEqual(Object.keys(VARIABLES));
  });

  it('should refuse a README without the markers, naming them', async () => {
    await expect(readmeWithConfigTable('# no table\n', 'X.md')).rejects.toThrow(
      /X\.md has no configuration table markers/,
    );
  });
});

/**
 * "1 MiB", "10,000", "10 s", "32 per upstream per process" as the number the table holds: bytes
 * for MiB/KiB, milliseconds for seconds.
 */
function amount(text: string): number {
  const match = /^([\d,]+)\s*(MiB|KiB|s\b)?/.exec(text.trim());
  if (!match) throw new Error(`not an amount: ${JSON.stringify(text)}`);
  const value = Number(match[1]!.replaceAll(',', ''));
  const unit = { MiB: 1_048_576, KiB: 1024, s: 1000 }[match[2] ?? ''] ?? 1;
  return value * unit;
}

/** The rows of every `| limit | default |` table in `markdown`. */
function limitRows(markdown: string): string[] {
  const lines = markdown.split('\n');
  return lines.flatMap((line, start) => {
    if (!/^\| limit\s+\| default\s+\|/.test(line)) return [];
    const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
    return lines.slice(start + 2, end < 0 ? undefined : end);
  });
}

describe('the limits tables in docs/', () => {
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((file) => file.endsWith('.md'));
  const configured = docs.flatMap((file) =>
    limitRows(readFileSync(path.join(ROOT, 'docs', file), 'utf8'))
      .map((row) => row.split('|').map((cell) => cell.trim()))
      .map(([, limit, shown]) => ({
        file,
        names: [...limit!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)]
          .map((m) => m[1]!)
          .filter((name) => name in VARIABLES),
        shown: shown!.replaceAll('`', ''),
      }))
      .filter(({ names }) => names.length > 0),
  );

  it('should state the defaults the configuration table holds for the variables they name', () => {
    expect(configured.length).toBeGreaterThan(12);
    for (const { file, names, shown } of configured) {
      const values = shown.split(' / ');
      expect(values, `${file}: ${names.join(' / ')}: one default each`).toHaveLength(names.length);
      names.forEach((name, i) => {
        const variable = VARIABLES[name as keyof typeof VARIABLES];
        expect(amount(values[i]!), `${name} in docs/${file}`).toBe(variable.default);
      });
    }
  });
});
