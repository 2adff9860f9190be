import { SessionError } from './SessionError.js';

export type DsnKey = 'driver' | 'serializer' | 'id';
export type ParsedDsn = Partial<Record<DsnKey, string>>;

export const DEFAULT_DSN = 'driver:file;serializer:default;id:md5';
const KEYS: readonly DsnKey[] = ['driver', 'serializer', 'id'];

/**
 * Parses `"driver:file;serializer:default;id:md5"` (S61). Keys may be any unique prefix of
 * driver / serializer / id in any case; values are lower-cased. Only the keys given are
 * returned. Empty parts (a trailing `;`) are ignored; anything else malformed throws
 * `INVALID_DSN`.
 */
export function parseDsn(dsn: string): ParsedDsn {
  if (typeof dsn !== 'string') {
    throw new SessionError('INVALID_DSN', `invalid DSN ${String(dsn)}: expected a string like "${DEFAULT_DSN}"`);
  }
  const parsed: ParsedDsn = {};
  for (const rawPart of dsn.split(';')) {
    const part = rawPart.trim();
    if (part === '') continue;
    const colon = part.indexOf(':');
    if (colon <= 0 || colon === part.length - 1) {
      throw new SessionError(
        'INVALID_DSN',
        `invalid DSN "${dsn}": part "${part}" is not "key:value" (e.g. "${DEFAULT_DSN}")`,
      );
    }
    const keyText = part.slice(0, colon).trim().toLowerCase();
    const value = part.slice(colon + 1).trim().toLowerCase();
    const candidates = KEYS.filter((key) => key.startsWith(keyText));
    const key = candidates[0];
    if (candidates.length !== 1 || key === undefined || value === '') {
      throw new SessionError(
        'INVALID_DSN',
        `invalid DSN "${dsn}": unknown key "${part.slice(0, colon)}"; known keys: ${KEYS.join(', ')} (any unique prefix)`,
      );
    }
    if (parsed[key] !== undefined) {
      throw new SessionError('INVALID_DSN', `invalid DSN "${dsn}": "${key}" is given twice`);
    }
    parsed[key] = value;
  }
  return parsed;
}
