import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from './support/test.js';
import { hydrated } from './support/page.js';

// One stored session per worker (`workerSession`): two workers run these tests at once, each
// starts logged in with a session of its own, and a change made by one never shows in the other.

const runDir = path.join(process.env.E2E_DATA_DIR ?? '', 'worker-sessions');

test.use({
  isosession: {
    dsn: 'driver:file;serializer:json;id:md5',
    dsnArgs: { Directory: process.env.E2E_DATA_DIR },
    workerSession: { params: { user: 'worker', loggedIn: true }, expire: '+1h' },
  },
});
test.describe.configure({ mode: 'parallel' });

for (const side of ['left', 'right']) {
  test(`worker session (${side}): its own stored session, untouched by the other worker`, async ({ page, session }, testInfo) => {
    test.setTimeout(240_000);
    await page.goto('/');
    await hydrated(page);
    await expect(page.getByTestId('user')).toHaveText('Signed in as worker');
    const id = (await session.id()) as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    await session.update((s) => void s.param('theme', side === 'left' ? 'dark' : 'light'));

    // Meet the other test (it runs in the other worker) and compare sessions.
    await mkdir(runDir, { recursive: true });
    await writeFile(path.join(runDir, `${side}.json`), JSON.stringify({ id, worker: testInfo.parallelIndex }));
    await expect.poll(async () => (await readdir(runDir)).length, { timeout: 200_000 }).toBe(2);
    const other = JSON.parse(await readFile(path.join(runDir, `${side === 'left' ? 'right' : 'left'}.json`), 'utf8')) as { id: string; worker: number };
    expect(other.worker).not.toBe(testInfo.parallelIndex);
    expect(other.id).not.toBe(id);
    expect(await session.param('theme')).toBe(side === 'left' ? 'dark' : 'light');
  });
}
