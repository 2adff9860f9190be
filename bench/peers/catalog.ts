import type { ServiceName } from '@isosession/test-support/services';

/** What a system under test is, as the report groups it. */
export type Family = 'isosession' | 'express-session' | 'iron-session' | 'floor';
export type Store = 'none' | 'cookie' | 'memory' | 'file' | 'sqlite' | 'redis' | 'postgresql';

export interface SystemInfo {
  name: string;
  family: Family;
  store: Store;
  /** How the row is labelled in the tables. */
  label: string;
  /** A shared service it needs (skipped, with a line in the report, when unreachable). */
  service?: ServiceName;
  /** An isosession driver that must be registered (sqlite/postgresql ship separately). */
  driver?: string;
  /** Served by a plain node:http handler, or as middleware in an Express 5 app. */
  framework: Framework;
}

export type Framework = 'http' | 'express';

export const WORKLOADS = ['counter', 'create', 'read'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const SYSTEMS: SystemInfo[] = [
  { name: 'http-only', family: 'floor', store: 'none', label: 'floor: http server only', framework: 'http' },
  { name: 'raw-file', family: 'floor', store: 'file', label: 'floor: raw file (readFile + writeFile)', framework: 'http' },
  { name: 'raw-redis', family: 'floor', store: 'redis', label: 'floor: raw redis (GET + SET, ioredis)', service: 'redis', framework: 'http' },
  { name: 'raw-postgresql', family: 'floor', store: 'postgresql', label: 'floor: raw PostgreSQL (SELECT + UPDATE/INSERT, pg)', service: 'postgresql', framework: 'http' },
  { name: 'iron-session', family: 'iron-session', store: 'cookie', label: 'iron-session 8 (sealed cookie)', framework: 'http' },
  { name: 'isosession-memory', family: 'isosession', store: 'memory', label: 'isosession memory', driver: 'memory', framework: 'http' },
  { name: 'isosession-file', family: 'isosession', store: 'file', label: 'isosession file', driver: 'file', framework: 'http' },
  { name: 'isosession-sqlite', family: 'isosession', store: 'sqlite', label: 'isosession sqlite', driver: 'sqlite', framework: 'http' },
  { name: 'isosession-redis', family: 'isosession', store: 'redis', label: 'isosession redis', service: 'redis', driver: 'redis', framework: 'http' },
  { name: 'isosession-postgresql', family: 'isosession', store: 'postgresql', label: 'isosession postgresql', service: 'postgresql', driver: 'postgresql', framework: 'http' },
  { name: 'express-memory', family: 'express-session', store: 'memory', label: 'express-session MemoryStore', framework: 'http' },
  { name: 'express-file', family: 'express-session', store: 'file', label: 'express-session session-file-store', framework: 'http' },
  { name: 'express-redis', family: 'express-session', store: 'redis', label: 'express-session connect-redis 9 (node-redis)', service: 'redis', framework: 'http' },
  { name: 'express-postgresql', family: 'express-session', store: 'postgresql', label: 'express-session connect-pg-simple', service: 'postgresql', framework: 'http' },
  // The same stores as Express 5 middleware: where most users meet a session layer.
  { name: 'express5-only', family: 'floor', store: 'none', label: 'floor: Express 5 app only', framework: 'express' },
  { name: 'isosession-memory-express', family: 'isosession', store: 'memory', label: 'isosession memory, Express', driver: 'memory', framework: 'express' },
  { name: 'isosession-file-express', family: 'isosession', store: 'file', label: 'isosession file, Express', driver: 'file', framework: 'express' },
  { name: 'isosession-redis-express', family: 'isosession', store: 'redis', label: 'isosession redis, Express', service: 'redis', driver: 'redis', framework: 'express' },
  { name: 'isosession-postgresql-express', family: 'isosession', store: 'postgresql', label: 'isosession postgresql, Express', service: 'postgresql', driver: 'postgresql', framework: 'express' },
  { name: 'express-memory-express', family: 'express-session', store: 'memory', label: 'express-session MemoryStore, Express', framework: 'express' },
  { name: 'express-file-express', family: 'express-session', store: 'file', label: 'express-session session-file-store, Express', framework: 'express' },
  { name: 'express-redis-express', family: 'express-session', store: 'redis', label: 'express-session connect-redis 9, Express', service: 'redis', framework: 'express' },
  { name: 'express-postgresql-express', family: 'express-session', store: 'postgresql', label: 'express-session connect-pg-simple, Express', service: 'postgresql', framework: 'express' },
];

/** The floor an isosession row is divided by: the raw store, or the bare server for in-process stores. */
export function floorFor(store: Store, framework: Framework = 'http'): string {
  if (framework === 'express' && (store === 'memory' || store === 'none')) return 'express5-only';
  if (store === 'file') return 'raw-file';
  if (store === 'redis') return 'raw-redis';
  if (store === 'postgresql') return 'raw-postgresql';
  return 'http-only';
}

/** Store-side writes a server counted: data rewrites, and touches (atime/TTL only). */
export interface WriteCounts {
  dataWrites: number;
  touches: number;
}
