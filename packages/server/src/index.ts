import './builtins.js';

export { Session } from './Session.js';
export { claimedRequest, firstHop, requestHeader, requestView } from './query.js';
export type { ClaimedRequest, RequestView } from './query.js';
export type { ConstructorArgs, FindCallback, FlushHooks, SessionOpener, UpdateOptions } from './Session.js';
export type { SessionCookie, SessionCookieAttributes } from './sessionCookie.js';
export { SessionError, isSessionError, parseDuration } from '@isosession/core';
export type { SessionErrorCode, SessionSnapshot } from '@isosession/core';
export { registerDriver, registerSerializer, registerIdGenerator } from './registry.js';
export { registerClass } from './serializers/superjson.js';
export { createDumperSerializer } from './serializers/dumper.js';
export type { DumperOptions, PerlStrings } from './serializers/dumper.js';
export { createFileDriver, defaultFileDirectory } from './drivers/file.js';
export { createMemoryDriver, clearMemoryStore } from './drivers/memory.js';
export { createRedisDriver } from './drivers/redis.js';
export { createSqliteDriver } from './drivers/sqlite.js';
export { createPostgresqlDriver } from './drivers/postgresql.js';
export { createMysqlDriver } from './drivers/mysql.js';
export { purgeExpired } from './drivers/purgeExpired.js';
export type { SqlDriver } from './drivers/sqlOptions.js';
export type {
  CgiLikeQuery, CookieOptions, HeadersQuery, Driver, DriverFactory, DsnArgs, FindReport, HeaderOptions,
  IdGenerator, IdSource, Merge, MergeResult, Query, RawSession, Serializer, SessionParams,
  StoreMeta, StoredRecord,
} from './types.js';
