import type { AnyTRPCRouter, inferRouterInputs, inferRouterOutputs } from '@trpc/server';

/** The public params (name → value type) of a session router: `inferSessionParams<typeof sessionRouter>`. */
export type inferSessionParams<TRouter extends AnyTRPCRouter> = inferRouterOutputs<TRouter>['get']['params'];

/** The names of a session router's params the browser may write. */
export type inferWritableParamName<TRouter extends AnyTRPCRouter> = inferRouterInputs<TRouter>['set']['name'];
