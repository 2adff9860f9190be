// The examples a new user copies first, run as they would run them: README's first code
// block and `npm run example:visits`, each hit 200 times back to back with one cookie.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startExample, visit } from './runExample.js';
import type { RunningExample } from './runExample.js';

const running: RunningExample[] = [];
const cleanups: string[] = [];
afterEach(async () => {
  for (const example of running.splice(0)) await example.stop();
  for (const dir of cleanups.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The first ```ts block of README.md: the example the quick start points at. */
async function readmeFirstExample(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const match = /^```ts\n([\s\S]*?)^```$/m.exec(readme);
  if (!match) throw new Error('README.md has no ```ts code block');
  return match[1]!;
}

describe("README's first example", () => {
  it('counts 200 back-to-back visits of one session as 200, every response not cacheable', async () => {
    // Inside the repository, as the README says to save it: the packages resolve from there.
    const dir = await mkdtemp(join(repoRoot, '.readme-example-'));
    cleanups.push(dir);
    await writeFile(join(dir, 'server.ts'), await readmeFirstExample());
    const port = await freePort();
    const example = await startExample('server.ts', { cwd: dir, env: { PORT: String(port) } });
    running.push(example);
    expect(example.firstLine).toBe(`http://127.0.0.1:${port}/`);

    const { body, headers } = await visit(`http://127.0.0.1:${port}/`, 200);
    expect(body.trim()).toBe('visit 200');
    for (const h of headers) expect(h.get('cache-control')).toBe('no-store');
    expect(example.stderr()).toBe('');
  }, 60_000);
});

describe('npm run example:visits', () => {
  it('answers 200 visits of one session in turn, then logs out', async () => {
    const dir = await mkdtemp(join(repoRoot, '.visits-example-'));
    cleanups.push(dir);
    const example = await startExample(join(repoRoot, 'examples', 'visitCounter.ts'), { cwd: dir, env: { PORT: '0' } });
    running.push(example);
    const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(example.firstLine)?.[0];
    expect(url, example.firstLine).toBeDefined();

    const { body, cookie } = await visit(url!, 200);
    expect(body).toContain('visit number 200.');
    const loggedOut = await fetch(`${url!}logout`, { headers: { cookie: cookie! } });
    expect(await loggedOut.text()).toContain('Logged out.');
    expect(loggedOut.headers.getSetCookie()[0]).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    // The browser dropped the cleared cookie, so its next visit starts a new count.
    const after = await fetch(url!);
    expect(await after.text()).toContain('visit number 1.');
    expect(example.stderr()).toBe('');
  }, 60_000);
});
