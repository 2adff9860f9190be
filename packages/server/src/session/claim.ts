import { SessionError } from '@isosession/core';
import { isClaimedRequest, readClaim } from '../query.js';
import { unsignId } from '../signedId.js';
import type { Query } from '../types.js';
import type { CheckedConfig } from './config.js';
import { processIpMatch } from './processDefaults.js';

// What a caller or a request claims as its session id, decided before any store is touched.

const GENERIC_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The id `sidOrQuery` claims, or undefined for none: a string sid as it is (the caller's own,
 * trusted), a request's cookie (or `idFrom` param) verified against the secrets, a claimed
 * request's claim verified the same way. A claim of the wrong shape is no claim: it never
 * reaches the driver.
 */
export function claimOf(sidOrQuery: unknown, config: CheckedConfig, cookieName: string): string | undefined {
  let claim: string | undefined;
  if (isClaimedRequest(sidOrQuery)) {
    // Decided by the caller from a session it holds: a cookie value, signed like the cookie.
    claim = sidOrQuery.claim;
    if (claim !== undefined && config.secrets) claim = unsignId(claim, config.secrets);
  } else if (typeof sidOrQuery === 'string') claim = sidOrQuery;
  else if (typeof sidOrQuery === 'number' || typeof sidOrQuery === 'bigint') claim = String(sidOrQuery);
  else if (typeof sidOrQuery === 'object' && sidOrQuery !== null) {
    claim = readClaim(sidOrQuery as Query, cookieName, config.sessionParams.idFrom ?? ['cookie']);
    // Signed ids: an unsigned or forged cookie/param is no claim; nothing is looked up.
    if (claim !== undefined && config.secrets) claim = unsignId(claim, config.secrets);
  } else if (sidOrQuery !== null && sidOrQuery !== undefined) {
    throw new SessionError('INVALID_ARGUMENT', `the session id must be a string or a request (Query), got ${typeof sidOrQuery}`);
  }
  if (claim === undefined) return undefined;
  const generator = config.idGenerator;
  const acceptable = generator.isValidId ? generator.isValidId(claim) : GENERIC_ID.test(claim);
  return acceptable ? claim : undefined;
}

/** Whether sessions of this configuration are bound to the address that created them. */
export function ipMatchOf(config: CheckedConfig): boolean {
  return config.sessionParams.ipMatch ?? processIpMatch();
}

/**
 * ipMatch binds a session to the address that created it. A request whose address is not
 * known (a WHATWG Request carries none) would create sessions bound to nothing, and load
 * them from anywhere: refused, rather than silently doing nothing. A string sid (server
 * code) is trusted and not checked.
 */
export function refuseWithoutAddress(config: CheckedConfig, remoteAddr: string | undefined): void {
  if (!ipMatchOf(config) || remoteAddr !== undefined) return;
  throw new SessionError(
    'INVALID_ARGUMENT',
    'ipMatch is on, but this request carries no client address (a WHATWG Request has none), so the session cannot be bound to one: pass the address as sessionParams.remoteAddr or the remoteAddr option of the adapter, session context, route handler, proxy or getSession, or set sessionParams.trustProxy behind a proxy that sets X-Forwarded-For',
  );
}
