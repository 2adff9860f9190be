'use client';
import { useActionState } from 'react';
import Link from 'next/link';
import { useSessionParam } from '@isosession/react';
import { login, logout } from '@/app/actions';
import type { LoginState } from '@/app/actions';
import { ThemeToggle } from './ThemeToggle';

export function Header() {
  const [user] = useSessionParam('user');
  const [loggedIn] = useSessionParam('loggedIn');
  const [state, loginAction, pending] = useActionState<LoginState, FormData>(login, { error: null, snapshot: null });
  return (
    <header className="header">
      <Link href="/" className="brand" prefetch={false}>
        isosession shop
      </Link>
      <nav>
        {/* No prefetch: a request in flight with the old cookie while login regenerates the id
            would come back with a session of its own. */}
        <Link href="/admin" prefetch={false}>
          Admin
        </Link>
      </nav>
      <div className="row">
        {loggedIn && user !== null ? (
          <>
            <span data-testid="user">Signed in as {user}</span>
            <form
              action={async () => {
                await logout();
              }}
            >
              <button type="submit" data-testid="logout">
                Log out
              </button>
            </form>
          </>
        ) : (
          <form action={loginAction} className="row">
            <input name="user" placeholder="your name" aria-label="Name" required maxLength={32} data-testid="login-name" />
            <button type="submit" disabled={pending} data-testid="login">
              Log in
            </button>
            {state.error && (
              <span role="alert" className="error">
                {state.error}
              </span>
            )}
          </form>
        )}
        <ThemeToggle />
      </div>
    </header>
  );
}
