import { describe, expectTypeOf, it } from 'vitest';
import type { TestRouter } from '../../trpc/src/testing/testRouter.js';
import { createSessionHooks } from './createSessionHooks.js';
import type { SessionRequestError } from './SessionRequestError.js';
import type { Updater } from './store.js';

// Type-level only: the hooks are declared inside functions that are never called.
const { useSession, useSessionParam } = createSessionHooks<TestRouter>();
type Theme = 'light' | 'dark';

describe('hooks typed from the router', () => {
  it('useSessionParam: names and value types come from the router', () => {
    const component = () => {
      const [theme, setTheme, meta] = useSessionParam('theme');
      expectTypeOf(theme).toEqualTypeOf<Theme>();
      expectTypeOf(setTheme).parameter(0).toEqualTypeOf<Updater<Theme>>();
      expectTypeOf(meta.error).toEqualTypeOf<SessionRequestError | null>();
      expectTypeOf(meta.pending).toEqualTypeOf<boolean>();

      const [cart] = useSessionParam('cart');
      expectTypeOf(cart).toEqualTypeOf<{ sku: string; qty: number }[]>();
      const [lastSeen] = useSessionParam('lastSeen');
      expectTypeOf(lastSeen).toEqualTypeOf<Date | null>();

      // @ts-expect-error 'nope' is not a param of the router
      useSessionParam('nope');
      // @ts-expect-error private params are not public params
      useSessionParam('userId');

      // @ts-expect-error 'blue' is not a theme
      setTheme('blue');
      setTheme((t) => (t === 'light' ? 'dark' : 'light'));
    };
    expectTypeOf(component).toBeFunction();
  });

  it('read-only params have no setter', () => {
    const component = () => {
      const [user, setUser] = useSessionParam('user');
      expectTypeOf(user).toEqualTypeOf<string | null>();
      expectTypeOf(setUser).toBeNever();
    };
    expectTypeOf(component).toBeFunction();
  });

  it('useSession: set and clear take writable names with their value types', () => {
    const component = () => {
      const session = useSession();
      expectTypeOf(session.params.theme).toEqualTypeOf<Theme>();
      session.set('counter', (n) => n + 1);
      session.clear(['theme', 'cart']);
      // @ts-expect-error read-only in the browser
      session.set('user', 'mallory');
      // @ts-expect-error unknown name
      session.clear('nope');
      // @ts-expect-error a counter is a number
      session.set('counter', '1');
    };
    expectTypeOf(component).toBeFunction();
  });
});
