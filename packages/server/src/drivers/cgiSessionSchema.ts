import { parse as parseYaml } from 'yaml';
import type { RawSession } from '../types.js';
import { parseDumper } from '../serializers/dumper/parseDumper.js';
import { ATIME, ETIME, checkTable, getKey } from '../sessionTable.js';

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/**
 * The session's data as a table, whichever of Perl's text serializers wrote it (Data::Dumper,
 * JSON, YAML); undefined when it is none of them (Storable, V8, damage). The driver does not
 * know the serializer: the formats are told apart by their first character.
 */
function readAnyTable(data: RawSession): Record<string, unknown> | undefined {
  try {
    const head = (typeof data === 'string' ? data.slice(0, 64) : latin1(data.subarray(0, 64))).trimStart();
    let value: unknown;
    if (head.startsWith('$')) value = parseDumper(data);
    else {
      const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
      value = head.startsWith('{') ? JSON.parse(text) : parseYaml(text, { schema: 'core', maxAliasCount: 100, merge: false, logLevel: 'error' });
    }
    return checkTable(value, '');
  } catch {
    return undefined;
  }
}

/**
 * Whether the session in `data` is past its idle expiry at `now`, read from the data itself
 * (`_SESSION_ATIME` + `_SESSION_ETIME`), as Perl keeps them: a table with no `expires_at`
 * column. Data that cannot be read is never called expired (it is left for a person to look at).
 */
export function isExpiredByData(data: RawSession, now: number): boolean {
  const table = readAnyTable(data);
  if (!table) return false;
  const etime = getKey(table, ETIME);
  return typeof etime === 'number' && etime > 0 && (table[ATIME] as number) + etime <= now;
}
