export { SessionError, isSessionError } from './SessionError.js';
export type { SessionErrorCode } from './SessionError.js';
export { parseDuration } from './parseDuration.js';
export { parseDsn, DEFAULT_DSN } from './parseDsn.js';
export type { DsnKey, ParsedDsn } from './parseDsn.js';
export type { SessionSnapshot } from './snapshot.js';
export type { ClientSessionErrorCode, SessionErrorData, SessionIssue } from './wire.js';
export { redisCredentials, redisHostPort, redisNodeAddress } from './redisNodeAddress.js';
export type { RedisNodeAddress } from './redisNodeAddress.js';
