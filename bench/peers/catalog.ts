import type { ServiceName } from '../../packages/server/src/testing/services.js';

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
}

export const WORKLOADS = ['counter', 'create', 'read'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const SYSTEMS: SystemInfo[] = [
  { name: 'http-only', family: 'floor', store: 'none', label: 'floor: http server only' },
  { name: 'raw-file', family: 'floor', store: 'file', label: 'floor: raw file (readFile + writeFile)' },
  { name: 'raw-redis', family: 'floor', store: 'redis', label: 'floor: raw redis (GET + SET, ioredis)', service: 'redis' },
  { name: 'raw-postgresql', family: 'floor', store: 'postgresql', label: 'floor: raw PostgreSQL (SELECT + UPDATE/INSERT, pg)', service: 'postgresql' },
  { name: 'iron-session', family: 'iron-session', store: 'cookie', label: 'iron-session 8 (sealed cookie)' },
  { name: 'isosession-memory', family: 'isosession', store: 'memory', label: 'isosession memory', driver: 'memory' },
  { name: 'isosession-file', family: 'isosession', store: 'file', label: 'isosession file', driver: 'file' },
  { name: 'isosession-sqlite', family: 'isosession', store: 'sqlite', label: 'isosession sqlite', driver: 'sqlite' },
  { name: 'isosession-redis', family: 'isosession', store: 'redis', label: 'isosession redis', service: 'redis', driver: 'redis' },
  { name: 'isosession-postgresql', family: 'isosession', store: 'postgresql', label: 'isosession postgresql', service: 'postgresql', driver: 'postgresql' },
  { name: 'express-memory', family: 'express-session', store: 'memory', label: 'express-session MemoryStore' },
  { name: 'express-file', family: 'express-session', store: 'file', label: 'express-session session-file-store' },
  { name: 'express-redis', family: 'express-session', store: 'redis', label: 'express-session connect-redis 9 (node-redis)', service: 'redis' },
  { name: 'express-postgresql', family: 'express-session', store: 'postgresql', label: 'express-session connect-pg-simple', service: 'postgresql' },
];

/** The floor an isosession row is divided by: the raw store, or the bare server for in-process stores. */
export function floorFor(store: Store): string {
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
