import { Suspense } from 'react';
import type { ReactNode } from 'react';
import type { Metadata } from 'next';
import { snapshot } from '@isosession/next';
import { demoSession } from '@/lib/session';
import { sessionParamDefinitions } from '@/lib/sessionParams';
import { DemoSessionProvider } from '@/components/DemoSessionProvider';
import { Header } from '@/components/Header';
import { ThemeSync } from '@/components/ThemeSync';
import './globals.css';

export const metadata: Metadata = {
  title: 'isosession shop',
  description: 'CGI::Session for the TypeScript era: a server-authoritative session with a live, optimistic browser mirror.',
};

// Every render reads the request's session (cookies): never prerendered or cached.
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Read-only here (a server component cannot set cookies). A first visit has no stored
  // session (nothing is stored before the first write): render the defaults of a new one,
  // never stored, as the router's `get` answers them, so the page has no loading state.
  const stored = await demoSession();
  const session = stored.isEmpty() ? await stored.new() : stored;
  const initial = snapshot(session, sessionParamDefinitions);
  return (
    // The theme comes from the session on the server: the first paint is already right.
    <html lang="en" data-theme={initial.params.theme}>
      <body>
        <DemoSessionProvider initial={initial}>
          {/* Without a session (one removed between the proxy and this render) the hooks have
              nothing to render on the server: the browser renders them once it has one. */}
          <Suspense fallback={<p className="muted">Starting a session…</p>}>
            <ThemeSync />
            <Header />
          </Suspense>
          {/* Not inside that boundary: a page that awaits its own data (the admin list) would
              otherwise stream the session fallback first and flash it. */}
          <main>{children}</main>
        </DemoSessionProvider>
      </body>
    </html>
  );
}
