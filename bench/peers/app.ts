import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Workload, WriteCounts } from './catalog.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One system under test inside the server process: a handler per workload. */
export interface PeerApp {
  handlers: Record<Workload, Handler>;
  close(): Promise<void>;
}

/** What every app factory gets: where to put its data, and the counters to bump. */
export interface AppContext {
  counts: WriteCounts;
  /** A fresh temp directory, removed after close(). */
  directory: string;
  /** A random token for table names and key prefixes. */
  token: string;
}

export const SECRET = 'isosession-bench-secret-0123456789abcdef';

export function reply(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(body);
}

export function failed(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'content-type': 'text/plain' });
  res.end(`error: ${error instanceof Error ? error.message : String(error)}`);
}
