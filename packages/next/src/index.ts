export { getSession, cookiesAreWritable } from './getSession.js';
export type { GetSessionMode, GetSessionOptions } from './getSession.js';
export { snapshot } from './snapshot.js';
export { createSessionProxy } from './createSessionProxy.js';
export type { SessionProxyOptions } from './createSessionProxy.js';
export { createSessionRouteHandler } from './createSessionRouteHandler.js';
export type { SessionRouteHandlerOptions } from './createSessionRouteHandler.js';
export type { CookieJar, CookieToSet } from './requestQuery.js';
export type { SessionSnapshot } from '@isosession/core';
