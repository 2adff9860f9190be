'use server';
import { randomBytes } from 'node:crypto';
import { snapshot } from '@isosession/next';
import type { SessionSnapshot } from '@isosession/next';
import type { ParamValues } from '@isosession/trpc';
import { LOGIN_TTL, demoSession } from '@/lib/session';
import { sessionParamDefinitions } from '@/lib/sessionParams';

// Server actions change the session through getSession() (read-write here): flush() stores
// it, sets the cookie through cookies() (so Next.js renders the page again in this same
// response, and <SessionProvider initial> carries the new snapshot to the hooks), and
// announces it on the bus (other tabs' watch streams). Each returns the new snapshot too.

type Snapshot = SessionSnapshot<ParamValues<typeof sessionParamDefinitions>>;

export interface LoginState {
  error: string | null;
  snapshot: Snapshot | null;
  /** What was typed, given back with a refusal so the form does not lose it. */
  user?: string;
}

const USER_NAME = /^[\p{L}\p{N}._-]{1,32}$/u;

export async function login(_previous: LoginState, form: FormData): Promise<LoginState> {
  const user = String(form.get('user') ?? '').trim();
  if (!USER_NAME.test(user)) return { error: 'Pick a name of 1 to 32 letters, digits, dots, dashes or underscores.', snapshot: null, user };
  const session = await demoSession();
  // A new id at every change of privilege: a session id planted before login is worthless after it.
  session.regenerate();
  session.param('user', user);
  session.param('loggedIn', true);
  // Per-param idle expiry: the login lapses after LOGIN_TTL without a request, the cart stays.
  session.expire('loggedIn', LOGIN_TTL);
  // Server-only data: not a declared param, so no snapshot or page ever carries it.
  session.param('account', { email: `${user}@example.test`, role: 'customer', token: randomBytes(16).toString('hex') });
  await session.flush();
  return { error: null, snapshot: snapshot(session, sessionParamDefinitions) };
}

export async function logout(): Promise<Snapshot> {
  const session = await demoSession();
  session.clear(['user', 'loggedIn', 'account']);
  session.expire('loggedIn', 0);
  session.regenerate();
  await session.flush();
  return snapshot(session, sessionParamDefinitions);
}
