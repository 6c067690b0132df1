/**
 * One event's graphql-ws `next` messages: the payload's JSON encoded to bytes once, and each
 * socket's message built from those bytes around its own operation id.
 *
 * Writing `prefix + json + '}'` as a string made every socket pay for a string concatenation
 * and a UTF-8 encoding of the whole message, each time. Here the payload is encoded once per
 * event, and the message for an id is a copy of those bytes behind the id's prefix — built once
 * for consecutive sockets with the same id (clients often all number their first operation
 * "1"), then handed to `ws` as the same Buffer, which it writes without copying it again: what
 * a raw `ws` broadcast does.
 */
export class NextFrames {
  private readonly payload: Buffer;
  private lastId: string | undefined = undefined;
  private lastFrame: Buffer | undefined = undefined;

  constructor(payloadJson: string) {
    this.payload = Buffer.from(payloadJson);
  }

  /**
   * The whole `next` message for operation `id`, as graphql-ws would write it. The Buffer is
   * shared: it must not be written to.
   */
  frame(id: string): Buffer {
    if (id === this.lastId && this.lastFrame) return this.lastFrame;
    const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    const head = Buffer.byteLength(prefix);
    const frame = Buffer.allocUnsafe(head + this.payload.length + 1);
    frame.write(prefix, 0);
    this.payload.copy(frame, head);
    frame[frame.length - 1] = 0x7d; // '}'
    this.lastId = id;
    this.lastFrame = frame;
    return frame;
  }
}
