'use client';
import { useEffect } from 'react';
import { useSessionParam } from '@isosession/react';

/**
 * The server renders <html data-theme> from the session (no flash); this keeps it in step
 * when another tab or device changes the theme.
 */
export function ThemeSync() {
  const [theme] = useSessionParam('theme');
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return null;
}
