import { createHash } from 'node:crypto';

/**
 * `sessionParams.hashIds`: the key a session is stored under, SHA-256 of its id as 64 hex
 * characters, so a leaked table or dump holds no id a client could send (Rack CVE-2019-16782).
 * Ids carry 128 random bits, so an unsalted hash cannot be reversed by search.
 */
export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
