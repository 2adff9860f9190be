import { createFileDriver, Session } from '@isosession/server';
import type { BrowserContext } from '@playwright/test';

// What the demo server stored, read the way the demo reads it: the same DSN (apps/demo/lib/
// session.ts) and the run's store directory (playwright.config.ts sets E2E_DATA_DIR).
// The session a browser context holds is read through the `session` fixture of
// @isosession/playwright; what is left here looks up sessions by id: an id the browser no
// longer holds (after a login regenerated it), an expired session still on disk, a page's tag.

export const DEMO_DSN = 'driver:file;serializer:json;id:md5';
export const COOKIE_NAME = 'CGISESSID';

export function dataDir(): string {
  const dir = process.env.E2E_DATA_DIR;
  if (!dir) throw new Error('E2E_DATA_DIR is not set: run the tests through playwright.config.ts (npm run e2e)');
  return dir;
}

/** Whether the store still holds anything under `id` (expired or not), without loading it. */
export async function isStored(id: string): Promise<boolean> {
  return (await createFileDriver({ Directory: dataDir() }).retrieve(id)) !== null;
}

/** The session id the browser holds (its cookie). */
export async function sessionId(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === COOKIE_NAME);
  if (!cookie) throw new Error(`the browser has no ${COOKIE_NAME} cookie`);
  return cookie.value;
}

/** The opaque tag the demo's pages show for stored session `id` (they never show the id). */
export async function tagOf(id: string): Promise<string> {
  const tag = (await Session.load(DEMO_DSN, id, { Directory: dataDir() })).tag();
  if (tag === undefined) throw new Error(`session ${id} is not stored`);
  return tag;
}
