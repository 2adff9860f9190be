import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestSession } from './createTestSession.js';
import type { TestSession } from './createTestSession.js';
import type { PlaywrightCookie } from './parseSetCookie.js';
import type { IsosessionTestOptions, SeedOptions, SessionParamDefinitions } from './types.js';

export interface SeedStorageStateOptions extends SeedOptions {
  /** Where the app runs (the cookie's URL). */
  baseURL: string;
  /** The storageState file to write (directories are created). */
  path: string;
  /** The params of the stored session, e.g. `{ user: 'alice', loggedIn: true }`. */
  params?: Record<string, unknown>;
}

/**
 * Seeds one stored session and writes a Playwright storageState file holding its cookie, for a
 * setup project (`dependencies: ['setup']`, `use: { storageState: path }`) as Playwright's
 * authentication guide recommends. Returns the stored session's id.
 */
export async function seedStorageState<TDefs extends SessionParamDefinitions | undefined>(
  isosession: IsosessionTestOptions<TDefs>,
  options: SeedStorageStateOptions,
): Promise<string> {
  return (await seedStorageStateSession(isosession, options)).id;
}

/** seedStorageState, also returning a TestSession bound to the file's cookie (to clean it up). */
export async function seedStorageStateSession<TDefs extends SessionParamDefinitions | undefined>(
  isosession: IsosessionTestOptions<TDefs>,
  options: SeedStorageStateOptions,
): Promise<{ id: string; session: TestSession<TDefs> }> {
  const cookies: PlaywrightCookie[] = [];
  const jar = {
    cookies: async () => cookies.map((c) => ({ name: c.name, value: c.value })),
    addCookies: async (added: PlaywrightCookie[]) => void cookies.push(...added),
  };
  const session = createTestSession<TDefs>(jar, isosession, options.baseURL);
  const id = await session.seed(options.params, options);
  const state = {
    cookies: cookies.map((c) => ({
      name: c.name,
      value: c.value,
      domain: c.domain as string,
      path: c.path ?? '/',
      expires: c.expires ?? -1,
      httpOnly: c.httpOnly ?? false,
      secure: c.secure ?? false,
      sameSite: c.sameSite ?? 'Lax',
    })),
    origins: [],
  };
  await mkdir(path.dirname(options.path), { recursive: true });
  await writeFile(options.path, JSON.stringify(state, null, 2));
  return { id, session };
}
