import type { AnyTRPCRouter } from '@trpc/server';
import type { inferSessionParams, inferWritableParamName } from '@isosession/trpc';

/**
 * Register your session router once to type every hook by it:
 *
 * ```ts
 * declare module '@isosession/react' {
 *   interface Register { router: typeof sessionRouter }
 * }
 * ```
 * Without it the hooks accept any name (or use `createSessionHooks<typeof sessionRouter>()`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** The registered session router, or any router. */
export type RegisteredRouter = Register extends { router: infer TRouter extends AnyTRPCRouter } ? TRouter : AnyTRPCRouter;

/** Param name → value type of a session router. */
export type SessionParamsOf<TRouter> = TRouter extends AnyTRPCRouter ? inferSessionParams<TRouter> : Record<string, unknown>;

/** Names of a session router's params. */
export type ParamNameOf<TRouter> = keyof SessionParamsOf<TRouter> & string;

/** Names of the params the browser may write. */
export type WritableNameOf<TRouter> = TRouter extends AnyTRPCRouter ? inferWritableParamName<TRouter> & string : string;
