'use client';
import { SessionProvider } from './SessionProvider.js';
import type { SessionProviderProps } from './SessionProvider.js';
import { useSession } from './useSession.js';
import type { UseSessionResult } from './useSession.js';
import { useSessionParam } from './useSessionParam.js';
import type { SessionParamTuple } from './useSessionParam.js';
import type { ParamNameOf, SessionParamsOf, WritableNameOf } from './types.js';
import type { ReactNode } from 'react';

export interface SessionHooks<TRouter> {
  SessionProvider: (props: SessionProviderProps<TRouter>) => ReactNode;
  useSession: () => UseSessionResult<SessionParamsOf<TRouter>, WritableNameOf<TRouter>>;
  useSessionParam: <N extends ParamNameOf<TRouter>>(name: N) => SessionParamTuple<SessionParamsOf<TRouter>[N], N extends WritableNameOf<TRouter> ? true : false>;
}

/**
 * The provider and hooks typed by a router, without registering it globally:
 * `export const { SessionProvider, useSession, useSessionParam } = createSessionHooks<typeof sessionRouter>()`.
 * The same functions as the package's exports, only typed; nothing is created.
 */
export function createSessionHooks<TRouter>(): SessionHooks<TRouter> {
  return { SessionProvider, useSession, useSessionParam } as unknown as SessionHooks<TRouter>;
}
