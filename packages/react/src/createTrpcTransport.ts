import type { SessionErrorData } from '@isosession/core';
import type { SessionSnapshot } from '@isosession/core';
import { SessionRequestError } from './SessionRequestError.js';
import type { SessionTransport } from './transport.js';

/**
 * The part of a tRPC client (`createTRPCClient<typeof sessionRouter>(…)`, or the sub-client of
 * a nested router, `trpc.session`) the store uses.
 */
export interface SessionTrpcClient<P extends Record<string, unknown> = Record<string, unknown>> {
  get: { query(): Promise<SessionSnapshot<P>> };
  set: { mutate(input: { name: string; value: unknown }): Promise<SessionSnapshot<P>> };
  clear: { mutate(input: { names: string[] }): Promise<SessionSnapshot<P>> };
  destroy: { mutate(): Promise<SessionSnapshot<P>> };
  watch: {
    subscribe(
      input: undefined,
      observer: {
        onData(event: { id: string; data: SessionSnapshot<P> }): void;
        onError(error: unknown): void;
        onComplete(): void;
      },
    ): { unsubscribe(): void };
  };
}

/** The router's error data (absent fields: an error from something other than the session router). */
type ErrorData = Partial<SessionErrorData> & { code?: string };

/** A TRPCClientError (or anything thrown) as the store's SessionRequestError. */
export function fromTrpcError(error: unknown): SessionRequestError {
  if (error instanceof SessionRequestError) return error;
  const data = (error as { data?: ErrorData | null } | null)?.data ?? undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new SessionRequestError(message, { code: data?.code, param: data?.param, issues: data?.issues, sessionCode: data?.sessionCode, cause: error });
}

async function call<T>(pending: () => Promise<T>): Promise<T> {
  try {
    return await pending();
  } catch (error) {
    throw fromTrpcError(error);
  }
}

/** Adapts a tRPC client of the session router to the store's transport. */
export function createTrpcTransport<P extends Record<string, unknown>>(client: SessionTrpcClient<P>): SessionTransport<P> {
  return {
    get: () => call(() => client.get.query()),
    set: (name, value) => call(() => client.set.mutate({ name, value })),
    clear: (names) => call(() => client.clear.mutate({ names })),
    destroy: () => call(() => client.destroy.mutate()),
    watch(handlers) {
      let stopped = false;
      const subscription = client.watch.subscribe(undefined, {
        onData: (event) => {
          if (!stopped) handlers.onSnapshot(event.data);
        },
        onError: (error) => {
          if (!stopped) handlers.onError(fromTrpcError(error));
        },
        onComplete: () => {
          if (!stopped) handlers.onEnd();
        },
      });
      return () => {
        stopped = true;
        subscription.unsubscribe();
      };
    },
  };
}
