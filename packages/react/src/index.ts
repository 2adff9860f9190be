export { SessionProvider } from './SessionProvider.js';
export type { SessionProviderProps } from './SessionProvider.js';
export { useSession } from './useSession.js';
export type { UseSessionResult } from './useSession.js';
export { useSessionParam } from './useSessionParam.js';
export type { SessionParamMeta, SessionParamSetter, SessionParamTuple } from './useSessionParam.js';
export { createSessionHooks } from './createSessionHooks.js';
export type { SessionHooks } from './createSessionHooks.js';
export { createSessionStore, SessionRequestError } from './store.js';
export type {
  ReadonlySessionStoreApi, SessionIssue, SessionState, SessionStatus, SessionStore, SessionStoreOptions, SessionTransport,
  Updater, WatchHandlers,
} from './store.js';
export { createFetchTransport } from './createFetchTransport.js';
export type { EventSourceLike, FetchTransportOptions } from './createFetchTransport.js';
export { createSessionClient } from './createSessionClient.js';
export type { SessionClientOptions } from './createSessionClient.js';
export { createTrpcTransport } from './createTrpcTransport.js';
export type { SessionTrpcClient } from './createTrpcTransport.js';
export type { ParamNameOf, Register, RegisteredRouter, SessionParamsOf, WritableNameOf } from './types.js';
export type { SessionSnapshot } from '@isosession/core';
