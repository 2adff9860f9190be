import { SessionError } from '@isosession/core';
import type { SessionErrorCode } from '@isosession/core';

const UNAVAILABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', '57P01', '57P03', '08006', '08001',
]);

function classify(error: unknown): SessionErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.has(code)) return 'STORE_UNAVAILABLE';
  const message = error instanceof Error ? error.message : String(error);
  if (/connection (is )?closed|timed? ?out|not connected|connection terminated|ECONNREFUSED|stream isn't writeable/i.test(message)) {
    return 'STORE_UNAVAILABLE';
  }
  return 'STORE_ERROR';
}

/** Runs a driver call; anything but a SessionError becomes one, the driver's error kept as cause. */
export async function storeCall<T>(driverName: string, operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof SessionError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new SessionError(classify(error), `${operation} failed in driver "${driverName}": ${message}`, { cause: error });
  }
}
