import { ATIME } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import type { Serializer } from '../types.js';

/**
 * The table minus what every load moves (the access time), as the session's serializer writes
 * it (so any value it can store compares, a BigInt too): what a read-only session may not
 * change. A value it cannot write is a change.
 */
export function readOnlyContent(table: SessionTable | null, serializer: Serializer): string {
  if (table === null) return 'null';
  const { [ATIME]: _atime, ...rest } = table;
  try {
    const data = serializer.freeze(rest);
    return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  } catch {
    return `unwritable ${Math.random()}`;
  }
}
