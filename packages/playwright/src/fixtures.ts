import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { test as base } from '@playwright/test';
import type { TestType, PlaywrightTestArgs, PlaywrightTestOptions, PlaywrightWorkerArgs, PlaywrightWorkerOptions } from '@playwright/test';
import { createTestSession } from './createTestSession.js';
import type { TestSession } from './createTestSession.js';
import { seedStorageStateSession } from './storageState.js';
import type { IsosessionTestOptions, SessionParamDefinitions } from './types.js';

export interface IsosessionFixtures<TDefs extends SessionParamDefinitions | undefined> {
  /** The session of the test's browser context, bound to the app's store. */
  session: TestSession<TDefs>;
}

export interface IsosessionWorkerFixtures<TDefs extends SessionParamDefinitions | undefined> {
  /** Set once in the config: `use: { isosession: { dsn, dsnArgs, sessionParams } }`. */
  isosession: IsosessionTestOptions<TDefs>;
  /** The storageState file of this worker's own seeded session (undefined without `workerSession`). */
  workerStorageState: string | undefined;
}

export type IsosessionTest<TDefs extends SessionParamDefinitions | undefined> = TestType<
  PlaywrightTestArgs & PlaywrightTestOptions & IsosessionFixtures<TDefs>,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions & IsosessionWorkerFixtures<TDefs>
>;

/**
 * Playwright's `test` with a `session` fixture. Give the app's param definitions to type
 * `session.params()`: `export const test = createSessionTest(sessionParamDefinitions)`.
 */
export function createSessionTest<TDefs extends SessionParamDefinitions | undefined = undefined>(
  _params?: TDefs,
): IsosessionTest<TDefs> {
  return base.extend<IsosessionFixtures<TDefs>, IsosessionWorkerFixtures<TDefs>>({
    isosession: [{}, { option: true, scope: 'worker' }],
    workerStorageState: [
      async ({ isosession }, use, workerInfo) => {
        const worker = isosession.workerSession;
        const baseURL = workerInfo.project.use.baseURL;
        if (!worker) return use(undefined);
        if (!baseURL) throw new Error('isosession: workerSession needs `use: { baseURL }` in the config');
        const file = path.join(os.tmpdir(), `isosession-worker-${process.pid}-${workerInfo.parallelIndex}.json`);
        const { session } = await seedStorageStateSession(isosession, { ...worker, baseURL, path: file });
        await use(file);
        await rm(file, { force: true });
        if (!isosession.keep) await session.cleanup();
      },
      { scope: 'worker' },
    ],
    storageState: async ({ workerStorageState, storageState }, use) => {
      await use(workerStorageState ?? storageState);
    },
    session: async ({ context, baseURL, isosession }, use) => {
      const session = createTestSession<TDefs>(context, isosession as IsosessionTestOptions<TDefs>, baseURL);
      await use(session);
      if (!isosession.keep) await session.cleanup();
    },
  }) as unknown as IsosessionTest<TDefs>;
}

/** `test` with an untyped `session` fixture. */
export const test: IsosessionTest<undefined> = createSessionTest();
export { expect } from '@playwright/test';
