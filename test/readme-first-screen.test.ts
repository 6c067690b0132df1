import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../src/config.js';
import { ROOT } from './helpers/process.js';

/**
 * What the README's first screen promises, against the code: the start script that lets
 * signals reach node (test/npm-start.test.ts runs it), the container command, and the sandbox
 * credentials and control routes as the simulators define them.
 */

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const firstScreen = README.slice(0, README.indexOf('## Configuration'));
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe("the README's first screen", () => {
  it('should show the container command and a start script that execs node', () => {
    expect(pkg.scripts.start).toMatch(/&& exec node dist\/src\/main\.js$/);
    expect(firstScreen).toContain('`node dist/src/main.js`');
    expect(firstScreen).toMatch(/Ctrl-C \(or SIGTERM\)[\s\S]*exits 0/);
  });

  it("should name every sandbox credential as src/config.ts's SANDBOX_DEFAULTS has it", () => {
    for (const value of Object.values(SANDBOX_DEFAULTS)) {
      expect(firstScreen).toContain(`\`${value}\``);
    }
  });

  it('should list control routes the simulators answer', () => {
    const pbgControls = readFileSync(path.join(ROOT, 'src/sandbox/pbg/controls.ts'), 'utf8');
    const chillrControls = readFileSync(path.join(ROOT, 'src/sandbox/chillr/control.ts'), 'utf8');
    for (const route of ['purchases', 'pushes', 'calls', 'faults']) {
      expect(pbgControls).toContain(`/^${route}`);
      expect(firstScreen).toContain(`\`${route}`);
    }
    for (const route of ['batches', 'calls', 'faults']) {
      expect(chillrControls).toContain(`_sandbox\\/${route}`);
      expect(firstScreen).toContain(`\`${route}`);
    }
  });

  it('should say which npm ci warnings are expected', () => {
    expect(firstScreen).toMatch(/Expected `npm ci` warnings/);
    expect(firstScreen).toContain('EBADENGINE');
    expect(firstScreen).toContain('ERESOLVE overriding peer dependency');
  });
});
