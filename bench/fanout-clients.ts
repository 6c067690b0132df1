import WebSocket from 'ws';
import { serveParent } from './ipc.js';
import { sharedNow } from './wire.js';

/**
 * Child process: many graphql-transport-ws subscribers (one socket each), in a process of their
 * own so their CPU is not the server's. Each data frame is stamped on arrival with the clock
 * every bench process shares, and its sequence number (the `numPeople` the bench pushed) is
 * found by a byte search — no JSON.parse per frame, so the clients keep up with the server.
 */

export interface ConnectArgs {
  /** http://host:port of the server; the socket goes to ws://…/graphql. */
  url: string;
  count: number;
  headers: Record<string, string>;
  initPayload: Record<string, unknown>;
  query: string;
  variables: Record<string, unknown>;
  /** Sockets opening at once. */
  concurrency: number;
}

export interface Collected {
  /** One latency (ms) per delivery of a measured event, in no order. */
  latencies: Float64Array;
  /** Deliveries per measured event, indexed by seq − firstSeq. */
  perSeq: Int32Array;
  /** Shared-clock time of the last measured delivery (0 when none arrived). */
  lastAt: number;
}

const MARKER = Buffer.from('"numPeople":');
const sockets: WebSocket[] = [];
let seen = new Uint8Array(0);
let sample: string | undefined;
const problems: string[] = [];
/** False once the round's window closed: later arrivals are not the round's. */
let recording = true;
let size = 0;
let seqs = new Int32Array(1 << 16);
let times = new Float64Array(1 << 16);

function record(index: number, seq: number, at: number): void {
  seen[index] = 1;
  if (!recording) return;
  if (size === seqs.length) {
    const moreSeqs = new Int32Array(size * 2);
    moreSeqs.set(seqs);
    seqs = moreSeqs;
    const moreTimes = new Float64Array(size * 2);
    moreTimes.set(times);
    times = moreTimes;
  }
  seqs[size] = seq;
  times[size] = at;
  size += 1;
}

function readNumber(data: Buffer, from: number): number {
  let value = 0;
  for (let i = from; i < data.length; i++) {
    const digit = data[i]! - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}

/** Opens one subscriber; resolves once its subscription is sent (after connection_ack). */
function open(args: ConnectArgs, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(
      `${args.url.replace(/^http/, 'ws')}/graphql`,
      'graphql-transport-ws',
      {
        headers: args.headers,
      },
    );
    sockets.push(socket);
    const timer = setTimeout(() => reject(new Error(`socket ${index}: no ack in 60 s`)), 60_000);
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: args.initPayload })),
    );
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code, reason) => {
      if (code !== 1000 && code !== 1005) problems.push(`socket ${index} closed ${code} ${reason}`);
    });
    socket.on('message', (data: Buffer) => {
      const at = sharedNow();
      const marker = data.indexOf(MARKER);
      if (marker >= 0) {
        sample ??= data.toString('utf8');
        record(index, readNumber(data, marker + MARKER.length), at);
        return;
      }
      const message = JSON.parse(data.toString('utf8')) as { type: string };
      if (message.type === 'connection_ack') {
        clearTimeout(timer);
        const payload = { query: args.query, variables: args.variables };
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
        resolve();
      } else if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type !== 'pong') problems.push(`socket ${index}: ${data.toString('utf8')}`);
    });
  });
}

async function connect(args: ConnectArgs): Promise<{ connected: number }> {
  seen = new Uint8Array(args.count);
  let next = 0;
  let connected = 0;
  const worker = async () => {
    while (next < args.count) {
      await open(args, next++);
      connected += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency, args.count) }, worker));
  return { connected };
}

function measured(firstSeq: number, events: number): number {
  let count = 0;
  for (let i = 0; i < size; i++) if (seqs[i]! >= firstSeq && seqs[i]! < firstSeq + events) count++;
  return count;
}

function collect(args: { firstSeq: number; sendTimes: Float64Array }): Collected {
  const events = args.sendTimes.length;
  const latencies = new Float64Array(measured(args.firstSeq, events));
  const perSeq = new Int32Array(events);
  let lastAt = 0;
  let k = 0;
  for (let i = 0; i < size; i++) {
    const slot = seqs[i]! - args.firstSeq;
    if (slot < 0 || slot >= events) continue;
    latencies[k++] = times[i]! - args.sendTimes[slot]!;
    perSeq[slot]! += 1;
    if (times[i]! > lastAt) lastAt = times[i]!;
  }
  return { latencies, perSeq, lastAt };
}

serveParent(
  {},
  {
    connect,
    /** How many sockets have received any data frame yet (the liveness barrier). */
    seen: () => ({ withAny: seen.reduce((sum, s) => sum + s, 0), problems: problems.slice(0, 5) }),
    /** Ends the round's window: what arrives from now on is not counted. */
    freeze: () => {
      recording = false;
    },
    measured: (args: { firstSeq: number; events: number }) => measured(args.firstSeq, args.events),
    collect,
    sample: () => sample,
  },
  () => {
    for (const socket of sockets) socket.terminate();
  },
);
