import { deserialize, serialize } from 'node:v8';
import type { RawSession, Serializer } from '../types.js';

/**
 * The seed's Storable, as V8's structured clone: keeps shared and circular references, Date,
 * Map, Set, BigInt, typed arrays. Structured clone carries data only, never functions or code.
 */
export const storableSerializer: Serializer = {
  freeze(data) {
    return new Uint8Array(serialize(data));
  },
  thaw(raw: RawSession) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
    return deserialize(bytes) as object;
  },
};
