import SuperJSON from 'superjson';
import type { RawSession, Serializer } from '../types.js';
import { toText } from './toText.js';

// One SuperJSON instance for isosession, so classes registered here do not leak into (or
// depend on) an application's own use of the default instance.
const instance = new SuperJSON();

/**
 * Registers a class so that its instances come back from the `superjson` serializer as
 * instances (CGI::Session's "store objects" behaviour), without ever evaluating stored code.
 */
export function registerClass(constructor: new (...args: never[]) => unknown, identifier?: string): void {
  instance.registerClass(constructor as never, identifier === undefined ? undefined : { identifier });
}

/** superjson: keeps Date, Map, Set, BigInt, undefined, RegExp and registered classes. */
export const superjsonSerializer: Serializer = {
  freeze(data) {
    return instance.stringify(data);
  },
  thaw(raw: RawSession) {
    return instance.parse(toText(raw)) as object;
  },
};
