import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FetchServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Delay before each request is handled (simulated network + server latency). */
  setLatency(ms: number): void;
  /** Requests handled so far, by path (e.g. `/trpc/set`). */
  requests: string[];
  close(): Promise<void>;
}

async function toRequest(req: IncomingMessage, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = req.method ?? 'GET';
  let body: BodyInit | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks) as unknown as BodyInit;
  }
  return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method, headers, body, signal });
}

async function send(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on('close', () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (done) break;
    res.write(value);
  }
  res.end();
}

/** What a runtime passes a fetch handler beside the request (as @hono/node-server does). */
export interface FetchContext {
  /** The socket's address. */
  remoteAddr: string | undefined;
}

/**
 * Serves a WHATWG fetch handler (tRPC's `fetchRequestHandler`, `withSession(...)`) from a Node
 * http server on 127.0.0.1, port 0: real sockets, real headers, request bodies, streamed
 * response bodies (SSE), the socket's address in the context, with injectable latency.
 */
export async function serveFetch(handler: (request: Request, ctx: FetchContext) => Promise<Response>): Promise<FetchServer> {
  let latency = 0;
  const requests: string[] = [];
  // Larger than Node's 16 KB default, so that huge Cookie headers reach the session code.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const aborter = new AbortController();
    res.on('close', () => aborter.abort());
    void (async () => {
      try {
        requests.push(new URL(req.url ?? '/', 'http://x').pathname);
        if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
        const request = await toRequest(req, aborter.signal);
        await send(await handler(request, { remoteAddr: req.socket.remoteAddress }), res);
      } catch (error) {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    setLatency(ms) {
      latency = ms;
    },
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
