import { expect, test } from './support/test.js';
import { nonce } from './support/nonce.js';
import { cartSaved, hydrated } from './support/page.js';
import { COOKIE_NAME, sessionId } from './support/store.js';

test('the cookie is HttpOnly and SameSite=Lax, carries only the id, and no page or response carries private data or the id', async ({ page, context, session }) => {
  const bodies: string[] = [];
  // Response bodies only (not headers, where Set-Cookie rightly carries the id), of every kind.
  const texts: string[] = [];
  page.on('response', (response) => {
    if (response.url().includes('/api/session/') && !response.url().includes('watch')) {
      bodies.push(`${response.url()}\n${JSON.stringify(response.headers())}`);
      void response.text().then((text) => bodies.push(text), () => undefined);
    }
    if (!response.url().includes('watch')) void response.text().then((text) => texts.push(text), () => undefined);
  });
  const user = `carol-${nonce()}`;
  await page.goto('/');
  await hydrated(page);
  await page.getByTestId('add-tee').click();
  await cartSaved(page);
  const ids = [await sessionId(context)];
  await page.getByTestId('login-name').fill(user);
  await page.getByTestId('login').click();
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
  await page.getByTestId('add-cap').click();
  await cartSaved(page);

  const cookies = await context.cookies();
  expect(cookies.map((c) => c.name)).toEqual([COOKIE_NAME]);
  const [cookie] = cookies;
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
  // 128 random bits as hex: no data, nothing derived from the user.
  expect(cookie?.value).toMatch(/^[0-9a-f]{32}$/);
  expect(await page.evaluate(() => document.cookie)).not.toContain(COOKIE_NAME);

  const stored = await session.params();
  const account = stored?.account as { email: string; token: string };
  expect(account.token).toMatch(/^[0-9a-f]{32}$/);

  // Every page's source (HTML with its inline RSC payload) and every session response.
  const sources = [...bodies];
  for (const path of ['/', '/admin', '/?latency=0']) {
    const response = await page.request.get(path);
    sources.push(await response.text());
  }
  const rsc = await page.request.get('/', { headers: { RSC: '1' } });
  sources.push(await rsc.text());
  expect(sources.length).toBeGreaterThan(4);
  for (const source of sources) {
    expect(source).not.toContain(account.token);
    expect(source).not.toContain(account.email);
    expect(source).not.toContain('"account"');
  }
  // The public params are there: the page is rendered from the session.
  expect(sources.join('\n')).toContain(user);

  // The credential never reaches page JavaScript: no HTML, RSC payload, action result or
  // session answer holds an id the browser's HttpOnly cookie held (before and after login).
  ids.push(await sessionId(context));
  expect(ids[1]).not.toBe(ids[0]);
  const everything = [...texts, ...sources.filter((source) => !source.startsWith('http')), await page.content()];
  expect(everything.length).toBeGreaterThan(6);
  for (const text of everything) {
    for (const id of ids) expect(text).not.toContain(id);
  }
});
