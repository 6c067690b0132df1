import type { DocumentNode } from 'graphql';

/**
 * One parsed document per distinct operation text among the operations the sockets hold.
 *
 * Each `subscribe` message is parsed on its own, and graphql-ws keeps the operation's
 * execution args — so its document — for as long as the socket holds the operation. A parsed
 * document keeps its locations and the whole token list they point into: about 14 KiB for the
 * bench's `groupPurchaseChanged` subscription, most of what 10,000 idle subscribers cost
 * (docs/benchmarks.md, "Memory per held subscription"). Documents that print the same are the
 * same operation, so every operation with the same printed text is handed the first one's
 * document, and the later parses are garbage at once.
 *
 * The table holds its documents weakly: an entry lives while some operation still holds its
 * document, so the table is bounded by what the sockets hold (themselves bounded per socket),
 * never by what callers once sent. Locations in a later operation's errors are those of the
 * first one's text, as they already are for subscribers sharing one stream (ws-fanout.ts).
 */
export class DocumentTable {
  private readonly byText = new Map<string, Entry>();
  private readonly registry = new FinalizationRegistry<string>((text) => {
    if (this.byText.get(text)?.document.deref() === undefined) this.byText.delete(text);
  });

  /**
   * The document already held for `printed`, or `document`, now held for it; with the table's
   * own copy of the text, so callers keep one string per distinct text too.
   */
  intern(printed: string, document: DocumentNode): { document: DocumentNode; printed: string } {
    const entry = this.byText.get(printed);
    const held = entry?.document.deref();
    if (entry && held) return { document: held, printed: entry.printed };
    this.byText.set(printed, { document: new WeakRef(document), printed });
    this.registry.register(document, printed);
    return { document, printed };
  }

  /** Distinct texts with an entry (some may be collected but not yet cleared), for tests. */
  get size(): number {
    return this.byText.size;
  }
}

interface Entry {
  document: WeakRef<DocumentNode>;
  printed: string;
}
