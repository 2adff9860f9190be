import { createServer } from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `listener` on 127.0.0.1, port 0. */
export function serveNode(listener: RequestListener): Promise<RunningServer> {
  // Larger than Node's 16 KB default, so that huge Cookie headers reach the session code.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, listener);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

/**
 * Serves a WHATWG fetch handler over node:http (what @hono/node-server does), passing the
 * socket's address in the context as `remoteAddr`.
 */
export function serveFetch(handler: (request: Request, ctx: { remoteAddr: string | undefined }) => Promise<Response>): Promise<RunningServer> {
  return serveNode(async (req, res) => {
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
      }
      const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, { method: req.method, headers });
      const response = await handler(request, { remoteAddr: req.socket.remoteAddress });
      const out: Record<string, string | string[]> = {};
      response.headers.forEach((value, name) => {
        if (name !== 'set-cookie') out[name] = value;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) out['set-cookie'] = cookies;
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`unhandled: ${(error as Error).message}`);
    }
  });
}
