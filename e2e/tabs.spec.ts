import { expect, test } from './support/test.js';
import { cartSaved, hydrated } from './support/page.js';

test('two tabs of one browser stay in step without a reload', async ({ context, session }) => {
  const first = await context.newPage();
  await first.goto('/');
  await hydrated(first);
  const second = await context.newPage();
  await second.goto('/');
  await hydrated(second);

  await first.getByTestId('add-tee').click();
  await first.getByTestId('add-stickers').click();
  await expect(second.getByTestId('cart-count')).toHaveText('2');
  await expect(second.getByTestId('cart-lines')).toHaveText(/CGI::Session T-shirt[\s\S]*Sticker pack/);

  await second.getByTestId('cart-line').first().getByRole('button', { name: 'Remove' }).click();
  await expect(first.getByTestId('cart-count')).toHaveText('1');
  await cartSaved(first);
  await cartSaved(second);

  // The theme, switched optimistically in one tab, reaches the other through the watch stream.
  await first.getByTestId('theme-toggle').click();
  await expect(second.locator('html')).toHaveAttribute('data-theme', 'dark');

  expect(await session.params()).toMatchObject({ theme: 'dark', cart: [{ sku: 'stickers', price: 400 }] });
});
