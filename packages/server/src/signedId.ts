import { createHmac, timingSafeEqual } from 'node:crypto';
import { SessionError } from '@isosession/core';

// Shorter secrets are guessable offline from one signed cookie; 32 bytes is what
// iron-session and express-session's docs ask for too.
const MIN_SECRET_BYTES = 32;
// 32 random base64 or hex characters have ~25 or ~14 distinct ones; fewer than this is a
// placeholder ("changeme" repeated, 32 spaces), not a key.
const MIN_DISTINCT_CHARACTERS = 8;
// HMAC-SHA256 is 32 bytes: 43 base64url characters without padding.
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/** Why `secret` is no key (never quoting it), or undefined if it may be one. */
function weakness(secret: unknown): string | undefined {
  if (typeof secret !== 'string') return `is ${secret === null ? 'null' : typeof secret}, not a string`;
  const bytes = Buffer.byteLength(secret);
  if (bytes < MIN_SECRET_BYTES) return `is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are needed`;
  if (secret.trim() === '') return 'is only whitespace';
  const characters = [...secret];
  if (new Set(characters).size < MIN_DISTINCT_CHARACTERS) return `uses only ${new Set(characters).size} distinct characters`;
  for (let period = 1; period <= characters.length / 2; period++) {
    if (characters.every((character, index) => index < period || character === characters[index - period])) {
      return `repeats a pattern of ${period} characters`;
    }
  }
  const codes = characters.map((character) => character.codePointAt(0) as number);
  const step = (codes[1] as number) - (codes[0] as number);
  if (Math.abs(step) === 1 && codes.slice(2).filter((code, index) => code - (codes[index + 1] as number) === step).length >= codes.length / 2) {
    return 'is mostly a run of consecutive characters';
  }
  return undefined;
}

/**
 * Checks `sessionParams.secret` at construction (broken configuration fails early): a string,
 * or a non-empty list for rotation (the first signs, every one verifies), each at least 32
 * bytes and not an obvious placeholder.
 */
export function parseSecrets(secret: unknown): string[] | undefined {
  if (secret === undefined || secret === null) return undefined;
  const list: unknown[] = Array.isArray(secret) ? secret : [secret];
  const problems = list.map((item, index) => {
    const why = weakness(item);
    return why === undefined ? undefined : `${Array.isArray(secret) ? `secret #${index + 1} of the list` : 'the secret'} ${why}`;
  }).filter((problem) => problem !== undefined);
  if (list.length === 0 || problems.length > 0) {
    throw new SessionError(
      'INVALID_ARGUMENT',
      `sessionParams.secret must be a random string of at least ${MIN_SECRET_BYTES} bytes, or a non-empty list of them (newest first, for rotation)${problems.length > 0 ? `: ${problems.join('; ')}` : ': the list is empty'}. Generate one with \`openssl rand -base64 32\``,
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
