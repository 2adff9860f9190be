import { createHmac, timingSafeEqual } from 'node:crypto';
import { SessionError } from '@isosession/core';

// Shorter secrets are guessable offline from one signed cookie; 32 characters is what
// iron-session and express-session's docs ask for too.
const MIN_SECRET_LENGTH = 32;
// HMAC-SHA256 is 32 bytes: 43 base64url characters without padding.
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Checks `sessionParams.secret` at construction (broken configuration fails early): a string,
 * or a non-empty list for rotation (the first signs, every one verifies).
 */
export function parseSecrets(secret: unknown): string[] | undefined {
  if (secret === undefined || secret === null) return undefined;
  const list: unknown[] = Array.isArray(secret) ? secret : [secret];
  const ok = list.length > 0 && list.every((item) => typeof item === 'string' && item.length >= MIN_SECRET_LENGTH);
  if (!ok) {
    throw new SessionError(
      'INVALID_ARGUMENT',
      `sessionParams.secret must be a string of at least ${MIN_SECRET_LENGTH} characters, or a non-empty list of them (newest first, for rotation); generate one with \`openssl rand -base64 32\``,
    );
  }
  return list as string[];
}

function signatureOf(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url');
}

/** The cookie value for a signed id: `id.signature` (HMAC-SHA256, base64url). */
export function signId(id: string, secret: string): string {
  return `${id}.${signatureOf(id, secret)}`;
}

/**
 * The id inside a signed value, or undefined when the value is unsigned, malformed or signed
 * with none of `secrets` (then it is no claim at all: nothing is looked up).
 */
export function unsignId(value: string, secrets: readonly string[]): string | undefined {
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = value.slice(0, dot);
  const given = value.slice(dot + 1);
  if (!SIGNATURE.test(given)) return undefined;
  const givenBytes = Buffer.from(given, 'latin1');
  let valid = false;
  for (const secret of secrets) {
    // Constant-time compare of the canonical encodings (both 43 ASCII bytes): no timing oracle,
    // and no second spelling of one signature is accepted.
    if (timingSafeEqual(givenBytes, Buffer.from(signatureOf(id, secret), 'latin1'))) valid = true;
  }
  return valid ? id : undefined;
}
