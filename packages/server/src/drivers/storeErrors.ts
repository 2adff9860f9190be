import { SessionError } from '@isosession/core';

/** A client library's error: most carry a string `code` (an errno, a SQLSTATE, a server's name). */
export type CodedError = Error & { code?: unknown; errors?: unknown[] };

/** The error's string `code`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as CodedError | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Socket errors that mean the server cannot be reached, whatever the client library. */
export const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'] as const;

/** How one client library's errors are told apart. */
export interface ErrorSigns {
  /** Codes of a connection that is gone, or of a server that cannot serve now. */
  unavailableCodes: ReadonlySet<string>;
  /** The same said in a message, where the client gives no code. */
  unavailableMessage?: RegExp;
  /** Other signs of the same (pg: SQLSTATE class 08; mysql2: `fatal`; SQLite: BUSY/LOCKED). */
  unavailableIf?(error: CodedError): boolean;
  /** Two transactions that must not both win: the loser runs again on what the winner wrote. */
  raceCodes?: ReadonlySet<string>;
  /** The table lacks a column the driver needs (a table made by something else). */
  schemaCodes?: ReadonlySet<string>;
  schemaMessage?: RegExp;
}

/**
 * What a store error means to a driver: `unavailable` (no usable connection: STORE_UNAVAILABLE,
 * and the call may be retried on a new one), `race` (run the transaction again), `schema`
 * (the user's table does not fit: a STORE_ERROR that says so), or `other` (reported as it is).
 */
export type ErrorKind = 'unavailable' | 'race' | 'schema' | 'other';

export function classifyError(signs: ErrorSigns, error: unknown): ErrorKind {
  return isUnavailable(signs, error) ? 'unavailable' : kindOfCode(signs, error);
}

function isUnavailable(signs: ErrorSigns, error: unknown): boolean {
  if (error instanceof SessionError || !(error instanceof Error)) return false;
  const coded = error as CodedError;
  const code = errorCode(error);
  if (code !== undefined && signs.unavailableCodes.has(code)) return true;
  if (signs.unavailableIf?.(coded)) return true;
  // Node 20 tries every address of a host name and reports an AggregateError of them all.
  if (Array.isArray(coded.errors) && coded.errors.some((inner) => isUnavailable(signs, inner))) return true;
  return signs.unavailableMessage?.test(error.message) ?? false;
}

function kindOfCode(signs: ErrorSigns, error: unknown): ErrorKind {
  if (error instanceof SessionError || !(error instanceof Error)) return 'other';
  const code = errorCode(error) ?? '';
  if (signs.raceCodes?.has(code)) return 'race';
  if (signs.schemaCodes?.has(code) || signs.schemaMessage?.test(error.message)) return 'schema';
  return 'other';
}

/** Where a driver's store is, for the messages that tell the user what to check. */
export interface StorePlace {
  /** The driver's name: messages start "<driver> driver: …". */
  driver: string;
  /** The store's address (password masked) or "the given Handle". */
  where: string;
  /** The server to check, as a user knows it ("PostgreSQL"). */
  server: string;
  timeoutMs: number;
}

/** STORE_UNAVAILABLE for a networked store: what failed, where, why, and what to check. */
export function storeUnavailable(place: StorePlace, what: string, cause?: unknown): SessionError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new SessionError(
    'STORE_UNAVAILABLE',
    `${place.driver} driver: ${what} at ${place.where}${reason}; check that ${place.server} is running and reachable, or raise Timeout (now ${place.timeoutMs / 1000} s)`,
    { cause },
  );
}

/** STORE_ERROR for a table that lacks the driver's columns, pointing at the documented schema. */
export function schemaMismatch(driver: string, what: string, table: string, error: unknown): SessionError {
  return new SessionError(
    'STORE_ERROR',
    `${driver} driver: ${what} failed: ${(error as Error).message}; table ${table} does not have the columns this driver needs (see "SQL schema" in docs/drivers.md, or use a new TableName)`,
    { cause: error },
  );
}

/** Carries an error the merge threw through a driver's retry loop, so it is never taken for a store error. */
export class MergeThrew {
  constructor(readonly error: unknown) {}
}
