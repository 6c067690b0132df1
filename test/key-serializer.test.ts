import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DocumentTable } from '../src/http/ws-documents.js';
import { KeySerializer } from '../src/purchase/key-serializer.js';

/** A promise with its resolver, to hold a task open until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('KeySerializer', () => {
  it('should run tasks sharing a key one after another, in arrival order', async () => {
    const serial = new KeySerializer();
    const order: string[] = [];
    const first = gate();
    const a = serial.run(['p1'], async () => {
      order.push('a start');
      await first.opened;
      order.push('a end');
    });
    const b = serial.run(['p1', 'p2'], () => {
      order.push('b');
      return Promise.resolve();
    });
    // b waits for a (it shares p1); a task on another key does not.
    await serial.run(['p3'], () => {
      order.push('c');
      return Promise.resolve();
    });
    expect(order).toEqual(['a start', 'c']);
    first.open();
    await Promise.all([a, b]);
    expect(order).toEqual(['a start', 'c', 'a end', 'b']);
    expect(serial.size).toBe(0);
  });

  it('should let the next task run after one that failed, and keep no key', async () => {
    const serial = new KeySerializer();
    await expect(serial.run(['p1'], () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    await expect(serial.run(['p1'], () => Promise.resolve(7))).resolves.toBe(7);
    expect(serial.size).toBe(0);
  });
});

describe('DocumentTable', () => {
  it('should hand every operation that prints the same the first one’s document', () => {
    const table = new DocumentTable();
    const first = parse('subscription { ticks }');
    const again = parse('subscription   {\n  ticks # same operation\n}');
    const other = parse('subscription { tocks }');
    const held = table.intern(print(first), first);
    expect(table.intern(print(again), again).document).toBe(held.document);
    expect(table.intern(print(other), other).document).toBe(other);
    expect(table.size).toBe(2);
  });
});
