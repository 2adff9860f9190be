// The `Register` augmentation types the package's own exports, as an app would do it once.
// Kept out of packages/*/src so the root typecheck (which has other code using the hooks) is
// not typed by this test router; vitest's typecheck run includes it (tsconfig.typecheck.json).
import { expectTypeOf, it } from 'vitest';
import { useSessionParam } from '@isosession/react';
import type { TestRouter } from '../../trpc/src/testing/testRouter.js';

declare module '@isosession/react' {
  interface Register {
    router: TestRouter;
  }
}

it('Register types useSessionParam from the registered router', () => {
  const component = () => {
    const [counter, setCounter] = useSessionParam('counter');
    expectTypeOf(counter).toEqualTypeOf<number>();
    setCounter((n) => n + 1);
    // @ts-expect-error 'nope' is not a param of the registered router
    useSessionParam('nope');
  };
  expectTypeOf(component).toBeFunction();
});
