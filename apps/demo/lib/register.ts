import type { DemoRouter } from './session';

// Types every @isosession/react hook by the demo's router: useSessionParam('cart') is a
// CartLine[], useSessionParam('nope') does not compile. A type-only import: no server code
// reaches the browser bundle.
declare module '@isosession/react' {
  interface Register {
    router: DemoRouter;
  }
}

export {};
