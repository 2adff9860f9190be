import { expect, test } from './support/test.js';
import { cartSaved, hydrated } from './support/page.js';

// The optimistic cart: what the shopper sees at once, what the server ends with, and what a
// refused write looks like. `?latency=300` delays every session request by 300 ms.

test.beforeEach(async ({ page }) => {
  // Counts the answers to cart writes as the page receives them.
  await page.addInitScript(() => {
    const w = window as unknown as { __setAnswers: number; __setRequests: number };
    w.__setAnswers = 0;
    w.__setRequests = 0;
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const isSet = /\/api\/session\/[^?]*\bset\b/.test(url);
      if (isSet) w.__setRequests += 1;
      const response = await original(input, init);
      if (isSet) w.__setAnswers += 1;
      return response;
    };
  });
});

test('5 quick clicks with 300 ms latency show 5 items before any answer; the server ends with exactly 5', async ({ page, context, session }) => {
  await page.goto('/?latency=300');
  await hydrated(page);
  await expect(page.getByTestId('cart-count')).toHaveText('0');

  const seen = await page.evaluate(async () => {
    const add = document.querySelector<HTMLButtonElement>('[data-testid="add-mug"]')!;
    for (let i = 0; i < 5; i++) add.click();
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const w = window as unknown as { __setAnswers: number };
    return {
      shown: document.querySelector('[data-testid="cart-count"]')?.textContent,
      lines: document.querySelectorAll('[data-testid="cart-line"]').length,
      answers: w.__setAnswers,
    };
  });
  expect(seen).toEqual({ shown: '5', lines: 5, answers: 0 });

  await cartSaved(page);
  await expect(page.getByTestId('cart-count')).toHaveText('5');
  const stored = await session.params();
  expect(stored?.cart).toEqual(Array.from({ length: 5 }, () => ({ sku: 'mug', price: 1200 })));
  // Rapid writes to one param coalesce: the first goes out at once, the other four as one.
  expect(await page.evaluate(() => (window as unknown as { __setRequests: number }).__setRequests)).toBeLessThanOrEqual(2);
});

test('a refused item shows at once, rolls back with a visible message, and the server keeps the cart it had', async ({ page, context, session }) => {
  await page.goto('/?latency=300');
  await hydrated(page);
  await page.getByTestId('add-cap').click();
  await cartSaved(page);
  await expect(page.getByTestId('cart-count')).toHaveText('1');

  // Discontinued: shown optimistically, then refused by the server's catalog check.
  await page.getByTestId('add-stale-vhs').click();
  await expect(page.getByTestId('cart-count')).toHaveText('2');
  await expect(page.getByTestId('cart-error')).toHaveText(/“vhs” is no longer sold/);
  await expect(page.getByTestId('cart-count')).toHaveText('1');
  await expect(page.getByTestId('cart-lines')).toHaveText(/Cookie cap/);

  // A stale price is refused the same way, with the catalog's price in the message.
  await page.getByTestId('add-stale-tee').click();
  await expect(page.getByTestId('cart-error')).toHaveText(/CGI::Session T-shirt costs €25\.00 now, not €9\.00/);
  await expect(page.getByTestId('cart-count')).toHaveText('1');
  await cartSaved(page);

  const stored = await session.params();
  expect(stored?.cart).toEqual([{ sku: 'cap', price: 1800 }]);

  // The next good write clears the message.
  await page.getByTestId('add-stickers').click();
  await expect(page.getByTestId('cart-error')).toHaveCount(0);
  await cartSaved(page);
  expect((await session.params())?.cart).toEqual([
    { sku: 'cap', price: 1800 },
    { sku: 'stickers', price: 400 },
  ]);
});

test('removing a line is optimistic too, and stored', async ({ page, context, session }) => {
  await page.goto('/?latency=300');
  await hydrated(page);
  await page.getByTestId('add-mug').click();
  await page.getByTestId('add-tee').click();
  await cartSaved(page);
  await page.getByTestId('cart-line').first().getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('cart-count')).toHaveText('1');
  await cartSaved(page);
  expect((await session.params())?.cart).toEqual([{ sku: 'tee', price: 2500 }]);
});
