import { SessionError } from '@isosession/core';
import type { SessionTable } from './sessionTable.js';
import type { RawSession, Serializer, SessionParams, StoredRecord } from './types.js';

/** 64 KiB: a cart or a profile fits many times over; a file upload does not belong here. */
export const DEFAULT_MAX_PARAM_BYTES = 64 * 1024;
/** 256 KiB: every request reads and writes the whole session, so it must stay small. */
export const DEFAULT_MAX_SESSION_BYTES = 256 * 1024;

export interface SizeLimits {
  param: number;
  session: number;
}

function parseLimit(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) return value;
  throw new SessionError('INVALID_ARGUMENT', `sessionParams.${name} must be a number of bytes >= 1 (or Infinity for no limit), got ${String(value)}`);
}

/** Checks the limits at construction (broken configuration fails early). */
export function parseSizeLimits(params: SessionParams): SizeLimits {
  return {
    param: parseLimit(params.maxParamBytes, 'maxParamBytes', DEFAULT_MAX_PARAM_BYTES),
    session: parseLimit(params.maxSessionBytes, 'maxSessionBytes', DEFAULT_MAX_SESSION_BYTES),
  };
}

/** UTF-8 bytes of stored data. A string of n UTF-16 units is n to 3n bytes: measured only when that matters. */
function byteLength(data: RawSession, atMost: number): number {
  if (typeof data !== 'string') return data.byteLength;
  return data.length * 3 <= atMost ? data.length : Buffer.byteLength(data);
}

function storedLength(current: StoredRecord | null): number {
  if (current === null) return 0;
  const data = typeof current === 'string' || current instanceof Uint8Array ? current : current.data;
  return byteLength(data, Infinity);
}

/**
 * At `param(name, value)`: refuses at once a value that is over the param limit whatever the
 * serializer (a string longer than the limit is at least that many bytes), so a 50 MB body
 * field never sits in the session. Other values are measured at flush.
 */
export function checkParamOnSet(name: string, value: unknown, limits: SizeLimits): void {
  if (typeof value === 'string' && value.length > limits.param) {
    throw new SessionError('TOO_LARGE', `param "${name}" is over sessionParams.maxParamBytes (${limits.param} bytes): a string of ${value.length} characters; it was not set. Keep large data elsewhere and store its key in the session, or raise maxParamBytes`);
  }
}

/**
 * At flush, on the serialized copy about to be stored: refuses (TOO_LARGE, nothing stored) a
 * param this flush sets that is over the param limit, or a session over the session limit that
 * this flush makes larger than the stored copy (so an oversized session can always shrink).
 * Params are measured one by one only when the whole session is over the param limit, which
 * keeps the cost off the usual small session.
 */
export function checkSizeOnFlush(input: {
  data: RawSession;
  current: StoredRecord | null;
  table: SessionTable;
  setNames: Iterable<string>;
  serializer: Serializer;
  limits: SizeLimits;
}): void {
  const { data, limits } = input;
  const size = byteLength(data, Math.min(limits.param, limits.session));
  if (size <= limits.param && size <= limits.session) return;
  if (size > limits.param) {
    const empty = byteLength(input.serializer.freeze({}), Infinity);
    for (const name of input.setNames) {
      if (!Object.hasOwn(input.table, name)) continue;
      const alone = byteLength(input.serializer.freeze({ [name]: input.table[name] }), Infinity) - empty;
      if (alone > limits.param) {
        throw new SessionError('TOO_LARGE', `param "${name}" is ${alone} bytes once serialized, over sessionParams.maxParamBytes (${limits.param}); nothing was stored. Keep large data elsewhere and store its key in the session, or raise maxParamBytes`);
      }
    }
  }
  if (size > limits.session && size > storedLength(input.current)) {
    throw new SessionError('TOO_LARGE', `the session is ${size} bytes once serialized, over sessionParams.maxSessionBytes (${limits.session}); nothing was stored. Clear params it no longer needs, keep large data elsewhere, or raise maxSessionBytes`);
  }
}
