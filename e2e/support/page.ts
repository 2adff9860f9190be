import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';

/**
 * Waits until the page is hydrated (the inspector's countdown starts ticking only in the
 * browser), so clicks reach React's handlers.
 */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.getByTestId('session-expires')).not.toHaveText('…');
}

/** Waits until the theme toggle's write is stored (the toggle is optimistic). */
export async function themeSaved(page: Page): Promise<void> {
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('aria-busy', 'false');
}

/** Waits until no cart write is queued or in flight. */
export async function cartSaved(page: Page): Promise<void> {
  await expect(page.getByTestId('cart-state')).toHaveText(/saved/);
}

