'use client';
import { useSessionParam } from '@isosession/react';

/**
 * Optimistic, like the cart: the theme is a public writable param, so the page switches this
 * frame and the write follows (ThemeSync moves <html data-theme>).
 */
export function ThemeToggle() {
  const [theme, setTheme, { pending }] = useSessionParam('theme');
  return (
    <button type="button" data-testid="theme-toggle" aria-busy={pending} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`} onClick={() => setTheme((current) => (current === 'dark' ? 'light' : 'dark'))}>
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  );
}
