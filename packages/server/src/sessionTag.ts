import { createHmac } from 'node:crypto';

// Domain separation: the tag key is never the key that signs cookies, even when both come
// from `sessionParams.secret`.
const TAG_CONTEXT = 'isosession snapshot tag v1';
// 128 bits: enough that two sessions never share a tag, short enough for every snapshot.
const TAG_BYTES = 16;

/**
 * The opaque tag the browser gets instead of the session id: HMAC-SHA256 of the id under
 * `key` (truncated to 128 bits, base64url). It tells a page that its session changed (login,
 * logout) without being the credential: the server never accepts it as a cookie, and the id
 * cannot be computed from it. Keyed by `tagKey`, else a key derived from the signing secret,
 * else a fixed key — for ids with 128 random bits (the default generators) an HMAC under a
 * public key is still one-way; guessable ids need a secret key. The same key in every process
 * gives the same tag for the same session, so several app servers sharing a store agree.
 */
export function sessionTag(id: string, key: { tagKey?: string | undefined; secret?: string | undefined }): string {
  const base = key.tagKey ?? (key.secret === undefined ? TAG_CONTEXT : createHmac('sha256', key.secret).update(TAG_CONTEXT).digest('base64url'));
  return createHmac('sha256', base).update(id).digest().subarray(0, TAG_BYTES).toString('base64url');
}
