'use client';
import { useSessionParam } from '@isosession/react';
import { toggleTheme } from '@/app/actions';

/** A server action: the page comes back rendered in the new theme, in the same response. */
export function ThemeToggle() {
  const [theme] = useSessionParam('theme');
  return (
    <form
      action={async () => {
        await toggleTheme();
      }}
    >
      <button type="submit" data-testid="theme-toggle" aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
        {theme === 'dark' ? '☀ Light' : '☾ Dark'}
      </button>
    </form>
  );
}
