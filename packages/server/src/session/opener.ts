import { getDriver } from '../registry.js';
import type { ClaimedRequest } from '../query.js';
import type { Session } from '../Session.js';
import type { DsnArgs, Query, SessionParams } from '../types.js';
import { parseConstructorArgs } from './arguments.js';
import { checkConfig, refuseGuessableIds } from './config.js';
import type { CheckedConfig, Config } from './config.js';
import { fail } from './processDefaults.js';

/**
 * Opens sessions of one configuration for requests: what an adapter keeps per middleware.
 * The DSN, secrets, limits and cookie options are checked at the first open and the result is
 * kept, so a request pays for none of it (a configuration that fails is checked again next
 * time, e.g. once its driver is registered). The options are read at that first open.
 */
export interface SessionOpener {
  /** As `Session.new(dsn, request, dsnArgs, sessionParams)`; `remoteAddr` overrides the request's address. */
  newSession(request: Query | ClaimedRequest, remoteAddr?: string): Promise<Session>;
  /** As `Session.load(dsn, request, dsnArgs, sessionParams)`. */
  loadSession(request: Query | ClaimedRequest, remoteAddr?: string): Promise<Session>;
}

export type OpenMode = 'new' | 'load';

/** `Session.opener`'s configuration cache around `open`, which makes one session. */
export function makeOpener(
  dsn: string | null,
  dsnArgs: DsnArgs | null,
  sessionParams: SessionParams,
  open: (config: Config, mode: OpenMode, request: Query | ClaimedRequest, remoteAddr: string | undefined) => Promise<Session>,
): SessionOpener {
  let checked: CheckedConfig | undefined;
  let config: Config | undefined;
  const openWith = async (mode: OpenMode, request: Query | ClaimedRequest, remoteAddr: string | undefined): Promise<Session> => {
    try {
      if (!checked) {
        // The same checks and messages as Session.new(dsn, request, dsnArgs, sessionParams).
        const parsed = parseConstructorArgs(mode, [dsn, null, dsnArgs, sessionParams]);
        checked = checkConfig(parsed.dsn, parsed.dsnArgs, parsed.sessionParams);
      }
      refuseGuessableIds(checked, 'a request was given');
      // Looked up on every open (a map lookup): closeAllDrivers() may have closed the last one.
      const driver = await getDriver(checked.resolved.driver, checked.driverArgs, checked.driverKey);
      if (config?.driver !== driver) config = { ...checked, driver };
      return await open(config, mode, request, remoteAddr);
    } catch (error) {
      return fail(error);
    }
  };
  return {
    newSession: (request, remoteAddr) => openWith('new', request, remoteAddr),
    loadSession: (request, remoteAddr) => openWith('load', request, remoteAddr),
  };
}
