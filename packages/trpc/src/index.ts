export { createSessionRouter } from './createSessionRouter.js';
export type { SessionErrorData, SessionRouter, SessionRouterOptions } from './createSessionRouter.js';
export { createSessionContext } from './createSessionContext.js';
export type { ResponseHeaderSink, SessionContext } from './createSessionContext.js';
export { createSessionFetchHandler } from './createSessionFetchHandler.js';
export type { SessionFetchHandlerOptions } from './createSessionFetchHandler.js';
export { createNodeSessionContext, nodeResponseHeaders } from './createNodeSessionContext.js';
export type { NodeResponseLike } from './createNodeSessionContext.js';
export { createMemorySessionBus, publishSessionChange } from './SessionBus.js';
export type { SessionBus, SessionChange } from './SessionBus.js';
export { createRedisSessionBus } from './createRedisSessionBus.js';
export type { RedisSessionBusOptions } from './createRedisSessionBus.js';
export { createPostgresSessionBus } from './createPostgresSessionBus.js';
export type { PostgresSessionBusOptions } from './createPostgresSessionBus.js';
export type { ClosableSessionBus } from './sessionBusHub.js';
export { sessionSnapshot } from './sessionSnapshot.js';
export type { SnapshotOptions } from './sessionSnapshot.js';
export { ParamValidationError, defineSessionParams } from './params.js';
export type {
  CheckedDefinitions, ParamDefinition, ParamDefinitions, ParamIssue, ParamValues, SetParamInput, WritableParamName,
} from './params.js';
export type { CsrfOptions } from './csrf.js';
export { toTRPCError } from './toTRPCError.js';
export type { ClientSessionErrorCode } from './toTRPCError.js';
export type { inferSessionParams, inferWritableParamName } from './inferSession.js';
export type { SessionSnapshot } from '@isosession/core';
