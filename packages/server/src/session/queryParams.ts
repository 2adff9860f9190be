import { SessionError } from '@isosession/core';
import { isReserved } from '../sessionTable.js';
import { readParamNames, readParamValues } from '../query.js';
import type { CgiLikeQuery, Query } from '../types.js';

// S21: copying between a request's parameters (CGI's query object, URLSearchParams, FormData)
// and a session's params, as saveParam() and loadParam() do.

/** The request parameters `names` (all of them by default); several values become an array. */
export function paramsOfQuery(source: Query, names?: string[]): [string, unknown][] {
  const entries: [string, unknown][] = [];
  for (const name of names ?? readParamNames(source)) {
    const values = readParamValues(source, name);
    if (values.length > 0) entries.push([name, values.length === 1 ? values[0] : values]);
  }
  return entries;
}

/** Writes `entries` into `target` with `param(name, value)` (or append, for URLSearchParams and FormData). */
export function writeParamsToQuery(target: Query, entries: [string, unknown][]): void {
  for (const [name, value] of entries) {
    if (value === undefined || isReserved(name)) continue;
    if (target instanceof URLSearchParams || (typeof FormData !== 'undefined' && target instanceof FormData)) {
      target.delete(name);
      for (const item of Array.isArray(value) ? value : [value]) target.append(name, String(item));
    } else if (typeof (target as CgiLikeQuery).param === 'function') {
      (target as CgiLikeQuery).param!(name, value);
    } else {
      throw new SessionError('INVALID_ARGUMENT', 'loadParam(): the query has no param(name, value) to write to');
    }
  }
}
