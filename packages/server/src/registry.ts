import { SessionError, parseDsn } from '@isosession/core';
import type { DriverFactory, DsnArgs, IdGenerator, Serializer } from './types.js';
import { withUpdate } from './drivers/withUpdate.js';
import type { UpdatableDriver } from './drivers/withUpdate.js';

// Plug-ins are registered by name, as CGI::Session loaded CGI::Session::Driver::<name>.
// The tables are per process on purpose: this is server code, never bundled for a browser.
const drivers = new Map<string, DriverFactory>();
const serializers = new Map<string, Serializer>();
const idGenerators = new Map<string, IdGenerator>();

function checkName(kind: string, name: string): string {
  if (typeof name !== 'string' || !/^[a-z0-9_.-]+$/i.test(name)) {
    throw new SessionError('INVALID_ARGUMENT', `${kind} name must be letters, digits, "_", "." or "-"; got ${String(name)}`);
  }
  return name.toLowerCase();
}

export function registerDriver(name: string, factory: DriverFactory): void {
  if (typeof factory !== 'function') {
    throw new SessionError('INVALID_ARGUMENT', `registerDriver("${name}"): the factory must be a function returning a Driver`);
  }
  drivers.set(checkName('driver', name), factory);
}

export function registerSerializer(name: string, serializer: Serializer): void {
  if (typeof serializer?.freeze !== 'function' || typeof serializer?.thaw !== 'function') {
    throw new SessionError('INVALID_ARGUMENT', `registerSerializer("${name}"): a serializer needs freeze() and thaw()`);
  }
  serializers.set(checkName('serializer', name), serializer);
}

export function registerIdGenerator(name: string, generator: IdGenerator): void {
  if (typeof generator?.generateId !== 'function') {
    throw new SessionError('INVALID_ARGUMENT', `registerIdGenerator("${name}"): an id generator needs generateId()`);
  }
  idGenerators.set(checkName('id generator', name), generator);
}

function unknown(kind: string, name: string, known: Iterable<string>): SessionError {
  return new SessionError('INVALID_DSN', `unknown ${kind} "${name}"; known ${kind}s: ${[...known].join(', ')}`);
}

export function getDriverFactory(name: string): DriverFactory {
  const factory = drivers.get(name);
  if (!factory) throw unknown('driver', name, drivers.keys());
  return factory;
}

export function getSerializer(name: string): Serializer {
  const serializer = serializers.get(name);
  if (!serializer) throw unknown('serializer', name, serializers.keys());
  return serializer;
}

export function getIdGenerator(name: string): IdGenerator {
  const generator = idGenerators.get(name);
  if (!generator) throw unknown('id generator', name, idGenerators.keys());
  return generator;
}

export interface ResolvedDsn {
  driver: string;
  serializer: string;
  id: string;
}

/** Fills a DSN's missing parts with the defaults (file, default, md5) and checks the names. */
export function resolveDsn(dsn: string | null | undefined): ResolvedDsn {
  const parsed = dsn == null ? {} : parseDsn(dsn);
  const resolved: ResolvedDsn = {
    driver: parsed.driver ?? 'file',
    serializer: parsed.serializer ?? 'default',
    id: parsed.id ?? 'md5',
  };
  getDriverFactory(resolved.driver);
  getSerializer(resolved.serializer);
  getIdGenerator(resolved.id);
  return resolved;
}

// Drivers that own connections (SQL pools, Redis clients) are expensive to make, so one is
// kept per driver name and dsnArgs. Objects in dsnArgs (a Handle, a Client) are keyed by
// identity, everything else by value.
const driverCache = new Map<string, Promise<UpdatableDriver>>();
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** What the driver cache knows a driver by; a caller that opens it often computes this once. */
export function driverCacheKey(name: string, args: DsnArgs): string {
  const keyed = Object.keys(args)
    .sort()
    .map((key) => {
      const value = args[key];
      if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
        let objectId = objectIds.get(value);
        if (objectId === undefined) {
          objectId = nextObjectId++;
          objectIds.set(value, objectId);
        }
        return [key, `#object${objectId}`];
      }
      return [key, value];
    });
  return `${name}\u0000${JSON.stringify(keyed)}`;
}

export function getDriver(name: string, args: DsnArgs, key = driverCacheKey(name, args)): Promise<UpdatableDriver> {
  let driver = driverCache.get(key);
  if (!driver) {
    // The factory gets its own shallow copy: the caller's dsnArgs are never modified (S78).
    // A driver without `update` gets the fallback here, once: nobody downstream branches on it.
    driver = Promise.resolve().then(async () => withUpdate(await getDriverFactory(name)({ ...args })));
    driverCache.set(key, driver);
    driver.catch(() => driverCache.delete(key));
  }
  return driver;
}

/** Closes every driver this process opened through a DSN (pools, clients), e.g. at exit. */
export async function closeAllDrivers(): Promise<void> {
  const open = [...driverCache.values()];
  driverCache.clear();
  const results = await Promise.allSettled(open.map(async (pending) => (await pending).close?.()));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed && failed.status === 'rejected') throw failed.reason;
}
