// Minimal declarations for the peers' packages that ship no types.
declare module 'session-file-store' {
  import type session from 'express-session';
  type FileStoreClass = new (options: Record<string, unknown>) => session.Store;
  export default function createFileStore(expressSession: typeof session): FileStoreClass;
}

declare module 'connect-pg-simple' {
  import type session from 'express-session';
  type PgStoreClass = new (options: Record<string, unknown>) => session.Store & { close(): Promise<void> | void };
  export default function connectPgSimple(expressSession: typeof session): PgStoreClass;
}

declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p99: number;
    total: number;
  }
  export interface Client {
    setHeaders(headers: Record<string, string>): void;
    on(event: 'headers', listener: (response: { statusCode: number; headers: string[] }) => void): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    timeout?: number;
    headers?: Record<string, string>;
    setupClient?: (client: Client) => void;
  }
  export interface Result {
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    start: Date;
    finish: Date;
    '2xx': number;
  }
  export default function autocannon(options: Options): Promise<Result>;
}
