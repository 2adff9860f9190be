import { deserialize, serialize } from 'node:v8';
import type { RawSession, Serializer } from '../types.js';

/**
 * `v8` (formerly `storable`), V8's structured clone, in the place of CGI::Session's Storable: keeps shared and circular references, Date,
 * Map, Set, BigInt, typed arrays. Structured clone carries data only, never functions or code.
 */
export const v8Serializer: Serializer = {
  freeze(data) {
    return new Uint8Array(serialize(data));
  },
  thaw(raw: RawSession) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
    return deserialize(bytes) as object;
  },
};

let warned = false;

/**
 * The old name: it made Perl users expect Perl's Storable format, which this is not. Still
 * registered (same bytes), with a DeprecationWarning once per process.
 */
export const storableAlias: Serializer = {
  freeze(data) {
    warnStorable();
    return v8Serializer.freeze(data);
  },
  thaw(raw: RawSession) {
    warnStorable();
    return v8Serializer.thaw(raw);
  },
};

function warnStorable(): void {
  if (warned) return;
  warned = true;
  process.emitWarning('isosession: serializer "storable" is V8\'s structured clone, not Perl\'s Storable format, and is now called "v8" (same stored bytes; "storable" still works and will be removed in a major version)', { type: 'DeprecationWarning', code: 'ISOSESSION_SERIALIZER_STORABLE' });
}
