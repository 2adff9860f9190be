export { createSessionTest, test, expect } from './fixtures.js';
export type { IsosessionFixtures, IsosessionTest, IsosessionWorkerFixtures } from './fixtures.js';
export { createTestSession } from './createTestSession.js';
export type { CookieJar, TestSession } from './createTestSession.js';
export { seedStorageState } from './storageState.js';
export type { SeedStorageStateOptions } from './storageState.js';
export { parseSetCookie } from './parseSetCookie.js';
export type { PlaywrightCookie } from './parseSetCookie.js';
export type { IsosessionTestOptions, SeedOptions, SessionChangePublisher, SessionParamDefinitions, StoredParams, WorkerSessionOptions } from './types.js';
