'use client';
import { useActionState } from 'react';
import { useFormStatus } from 'react-dom';
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
              <LogoutButton />
            </form>
          </>
        ) : (
          <form action={loginAction} className="row">
            <label htmlFor="login-name">Name</label>
            {/* React resets a form after its action: a refused name comes back as the default. */}
            <input id="login-name" name="user" placeholder="your name" required maxLength={32} data-testid="login-name" key={state.user ?? ''} defaultValue={state.user ?? ''} />
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

/** Inside the logout form: pending while the action runs, so a second click does nothing. */
function LogoutButton() {
  const { pending } = useFormStatus();
  return (
    <button type="submit" data-testid="logout" disabled={pending} aria-busy={pending}>
      {pending ? 'Logging out…' : 'Log out'}
    </button>
  );
}
