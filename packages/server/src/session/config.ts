import { SessionError, parseDuration } from '@isosession/core';
import { driverCacheKey, getDriver, getIdGenerator, getSerializer, resolveDsn } from '../registry.js';
import type { ResolvedDsn } from '../registry.js';
import { normalizeSameSite } from '../sessionCookie.js';
import { parseSecrets } from '../signedId.js';
import { parseSizeLimits } from '../sizeLimits.js';
import type { SizeLimits } from '../sizeLimits.js';
import type { UpdatableDriver } from '../drivers/withUpdate.js';
import type { DsnArgs, IdGenerator, Serializer, SessionParams } from '../types.js';
import { maxAgeSeconds } from './storedRecord.js';
import type { RecordFormat } from './storedRecord.js';
import { DEFAULT_STALE_GRACE } from '../tombstone.js';

// A session's configuration: the DSN resolved, the options checked once (broken configuration
// fails before any store is touched), the driver looked up in the registry's cache.

/** A configuration checked once: everything but the driver, which is looked up per open. */
export interface CheckedConfig {
  dsn: string | null;
  resolved: ResolvedDsn;
  dsnArgs: DsnArgs;
  sessionParams: SessionParams;
  /** What the registry's driver cache knows the driver by (computed once: it sorts dsnArgs). */
  driverArgs: DsnArgs;
  driverKey: string;
  serializer: Serializer;
  /** The serializer with its name, as freezing and thawing stored copies take them. */
  format: RecordFormat;
  idGenerator: IdGenerator;
  /** sessionParams.secret, checked: the first signs, any verifies. */
  secrets: string[] | undefined;
  /** sessionParams.maxParamBytes / maxSessionBytes, checked. */
  limits: SizeLimits;
  /** sessionParams.maxAge in seconds; undefined for none. Parsed once, read on every load and flush. */
  maxAge: number | undefined;
  /** sessionParams.staleGrace in seconds (how long a tombstone is kept); 0 leaves none. */
  staleGrace: number;
}

export interface Config extends CheckedConfig {
  /** Resolved through the registry: `update` always there (the fallback filled in if need be). */
  driver: UpdatableDriver;
}

/** A configuration checked and its driver resolved: what `Session.new` and `find` run with. */
export async function resolveConfig(dsn: string | null, dsnArgs: DsnArgs, sessionParams: SessionParams): Promise<Config> {
  const checked = checkConfig(dsn, dsnArgs, sessionParams);
  return { ...checked, driver: await getDriver(checked.resolved.driver, checked.driverArgs, checked.driverKey) };
}

/** Everything of a configuration that can be checked without the store. */
export function checkConfig(dsn: string | null, dsnArgs: DsnArgs, sessionParams: SessionParams): CheckedConfig {
  const resolved = resolveDsn(dsn);
  if (sessionParams.compat !== undefined && sessionParams.compat !== 'cgi-session') {
    throw new SessionError('INVALID_ARGUMENT', `sessionParams.compat must be 'cgi-session' (share a store with Perl CGI::Session) or left out, got ${JSON.stringify(sessionParams.compat)}`);
  }
  // A bad cookie name is broken configuration: fail here, not at the first cookie() call.
  if (sessionParams.name !== undefined) checkCookieName(sessionParams.name);
  normalizeSameSite(sessionParams.cookie?.sameSite);
  if (sessionParams.tagKey !== undefined && (typeof sessionParams.tagKey !== 'string' || sessionParams.tagKey.length < 32)) {
    throw new SessionError('INVALID_ARGUMENT', 'sessionParams.tagKey must be a string of at least 32 characters (the same in every process that shares the store); generate one with `openssl rand -base64 32`');
  }
  // Shared with Perl, the file driver locks session files the way Perl does (flock, in place).
  const driverArgs = sessionParams.compat && resolved.driver === 'file' ? { Compat: sessionParams.compat, ...dsnArgs } : dsnArgs;
  const serializer = getSerializer(resolved.serializer);
  return {
    dsn,
    resolved,
    // S78: our own copy; the caller's object is never touched.
    dsnArgs: { ...dsnArgs },
    sessionParams: { ...sessionParams },
    driverArgs,
    driverKey: driverCacheKey(resolved.driver, driverArgs),
    serializer,
    format: { serializer, serializerName: resolved.serializer },
    idGenerator: getIdGenerator(resolved.id),
    secrets: parseSecrets(sessionParams.secret),
    limits: parseSizeLimits(sessionParams),
    maxAge: maxAgeSeconds(sessionParams),
    staleGrace: parseDuration(sessionParams.staleGrace ?? DEFAULT_STALE_GRACE),
  };
}

/**
 * Ids a client could guess (`id:incr`: a visitor subtracts one from theirs and becomes the
 * previous visitor; `id:static`: the client picks the id) may only reach a client signed, so
 * that a guessed or chosen id is no claim at all.
 */
export function refuseGuessableIds(config: CheckedConfig, why: string): void {
  if (!config.idGenerator.guessable || config.secrets) return;
  const name = config.resolved.id;
  const how = name === 'static'
    ? 'takes the id the client claims, so a client could choose any session id'
    : 'makes ids a client can guess (a visitor who subtracts one from theirs becomes the previous visitor)';
  throw new SessionError('INVALID_ARGUMENT', `id:${name} ${how}; it is refused for a session whose id reaches a client (${why}) unless sessionParams.secret signs the id. Set sessionParams.secret (32+ random bytes), or use id:md5 or id:uuid`);
}

export function checkCookieName(name: string): string {
  // RFC 6265 §4.1.1: a cookie-name is an RFC 7230 token.
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new SessionError('INVALID_ARGUMENT', `invalid session name ${JSON.stringify(name)}: it must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~)`);
  }
  return name;
}


/** `sessionParams.compat: 'cgi-session'`: the store is shared with Perl's CGI::Session. */
export function isPerl(config: CheckedConfig): boolean {
  return config.sessionParams.compat === 'cgi-session';
}
