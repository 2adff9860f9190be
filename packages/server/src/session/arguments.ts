import { SessionError } from '@isosession/core';
import type { DsnArgs, Query, SessionParams } from '../types.js';
import type { ClaimedRequest } from '../query.js';
import type { FindCallback } from '../Session.js';

// CGI::Session's call shapes, checked once: `new()`, `new(sidOrQuery)`,
// `new(dsn, sidOrQuery, dsnArgs, sessionParams)` with null for any default (S8, S9), and
// `find(code)` / `find(dsn, code, dsnArgs, sessionParams)` (S55, S60).

export type ConstructorArgs =
  | []
  | [sidOrQuery: string | Query | ClaimedRequest | null | undefined]
  | [dsn: string | null | undefined, sidOrQuery: string | Query | ClaimedRequest | null | undefined, dsnArgs?: DsnArgs | null, sessionParams?: SessionParams | null];

function ordinal(index: number): string {
  return ['1st', '2nd', '3rd', '4th'][index] ?? `${index + 1}th`;
}

/** An options argument: an object (not an array), or null/undefined for the default. */
export function isPlainArgs(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value));
}

export function parseConstructorArgs(mode: string, args: ConstructorArgs): { dsn: string | null; sidOrQuery: string | Query | ClaimedRequest | null; dsnArgs: DsnArgs; sessionParams: SessionParams } {
  if (args.length <= 1) {
    return { dsn: null, sidOrQuery: args[0] ?? null, dsnArgs: {}, sessionParams: {} };
  }
  const [dsn, sidOrQuery, dsnArgs, sessionParams] = args as [unknown, unknown, unknown, unknown];
  if (dsn !== null && dsn !== undefined && typeof dsn !== 'string') {
    throw new SessionError('INVALID_DSN', `${mode}(): the 1st argument (dsn) must be a string like "driver:file" or null`);
  }
  ([[dsnArgs, 'dsnArgs'], [sessionParams, 'sessionParams']] as const).forEach(([value, label], index) => {
    if (!isPlainArgs(value)) {
      // S15: name the parameter and the method that was called.
      throw new SessionError('INVALID_ARGUMENT', `${mode}(): the ${ordinal(index + 2)} argument (${label}) must be an object or null, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
  });
  return {
    dsn: (dsn as string | null | undefined) ?? null,
    sidOrQuery: (sidOrQuery ?? null) as string | Query | ClaimedRequest | null,
    dsnArgs: (dsnArgs ?? {}) as DsnArgs,
    sessionParams: (sessionParams ?? {}) as SessionParams,
  };
}

export function parseFindArgs(args: unknown[]): { dsn: string | null; code: FindCallback; dsnArgs: DsnArgs; sessionParams: SessionParams } {
  const [dsn, code, dsnArgs, sessionParams] = typeof args[0] === 'function' ? [null, args[0], args[1], args[2]] : args;
  if (typeof code !== 'function') {
    throw new SessionError('INVALID_ARGUMENT', 'find(): the code to run for each session must be a function, e.g. find(dsn, (s) => { ... }, dsnArgs)');
  }
  if (dsn !== null && dsn !== undefined && typeof dsn !== 'string') {
    throw new SessionError('INVALID_DSN', 'find(): the dsn must be a string or null');
  }
  if (!isPlainArgs(dsnArgs) || !isPlainArgs(sessionParams)) {
    throw new SessionError('INVALID_ARGUMENT', 'find(): dsnArgs and sessionParams must be objects or null');
  }
  return { dsn: (dsn as string | null | undefined) ?? null, code: code as FindCallback, dsnArgs: (dsnArgs ?? {}) as DsnArgs, sessionParams: (sessionParams ?? {}) as SessionParams };
}

/** `param()`'s call shapes (S22–S28), told apart once. */
export type ParamCall =
  | { kind: 'names' }
  | { kind: 'get'; name: string }
  | { kind: 'set'; name: string; value: unknown }
  | { kind: 'setMany'; values: Record<string, unknown> };

export function parseParamArgs(args: unknown[]): ParamCall {
  const [first, second] = args;
  if (args.length === 0) return { kind: 'names' };
  if (typeof first === 'string') return args.length === 1 ? { kind: 'get', name: first } : { kind: 'set', name: first, value: second };
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    const record = first as Record<string, unknown>;
    if (!Object.hasOwn(record, '-name')) return { kind: 'setMany', values: record };
    const name = String(record['-name']);
    // S23: the named read may see private keys (read-only).
    return Object.hasOwn(record, '-value') ? { kind: 'set', name, value: record['-value'] } : { kind: 'get', name };
  }
  throw new SessionError('INVALID_ARGUMENT', 'param(): expected (), (name), (name, value), ({ "-name": n, "-value": v }) or ({ name: value, ... })');
}
