import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorder {
  url: string;
  /** Each request's path and `traceparent` header, in arrival order. */
  seen: Array<{ path: string; traceparent: string | undefined }>;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: http.Server) {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

async function bodyOf(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP proxy in front of an upstream that records the `traceparent` each call carries. */
export async function traceRecordingProxy(target: string): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const header = req.headers.traceparent;
      seen.push({
        path: req.url ?? '',
        traceparent: typeof header === 'string' ? header : undefined,
      });
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: req.method === 'GET' ? undefined : body.toString('utf8'),
      });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    })();
  });
  return { url: await listen(server), seen, close: closer(server) };
}

export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  serviceName?: string;
  attributes: Record<string, unknown>;
}

export interface Collector {
  url: string;
  spans: ExportedSpan[];
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{
      spans?: Array<
        Omit<ExportedSpan, 'attributes' | 'serviceName'> & { attributes?: OtlpAttribute[] }
      >;
    }>;
  }>;
}

const valueOf = (v: OtlpValue) => v.stringValue ?? v.intValue;

/** A local OTLP/HTTP collector that decodes JSON trace exports (POST /v1/traces). */
export async function otlpCollector(): Promise<Collector> {
  const spans: ExportedSpan[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      if (req.url === '/v1/traces') {
        const decoded = JSON.parse(body.toString('utf8')) as OtlpExport;
        for (const resource of decoded.resourceSpans ?? []) {
          const service = resource.resource?.attributes?.find((a) => a.key === 'service.name');
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                ...span,
                serviceName: service ? String(valueOf(service.value)) : undefined,
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map((a) => [a.key, valueOf(a.value)]),
                ),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    })();
  });
  return { url: await listen(server), spans, close: closer(server) };
}
