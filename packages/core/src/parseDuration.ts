import { SessionError } from './SessionError.js';

/** Seconds per unit, as CGI::Session's `_str2seconds` (M = 30 days, y = 365 days). S35. */
const UNIT_SECONDS: Readonly<Record<string, number>> = {
  '': 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
  M: 2_592_000,
  y: 31_536_000,
};

const DURATION = /^([+-]?)(\d+)([smhdwMy]?)$/;

/**
 * Parses an expiry into whole seconds: a number of seconds, a digit string with an optional
 * sign (`'10'`, `'-10'`), or `[+-]?N[smhdwMy]` (`'+10m'` → 600). `0` means "cancel" to the
 * caller. Anything else throws `INVALID_DURATION` naming the bad input (S36).
 */
export function parseDuration(input: number | string): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input)) {
      throw new SessionError(
        'INVALID_DURATION',
        `invalid duration ${String(input)}: a number of seconds must be a whole number`,
      );
    }
    return input === 0 ? 0 : input; // -0 is 0: cancel, and toBe(0)-equal
  }
  if (typeof input !== 'string') {
    throw new SessionError(
      'INVALID_DURATION',
      `invalid duration ${describe(input)}: expected seconds or a string like "+10m", "2h", "-1d"`,
    );
  }
  const match = DURATION.exec(input);
  if (!match) {
    throw new SessionError(
      'INVALID_DURATION',
      `invalid duration "${input}": expected seconds or [+-]N with a unit of s, m, h, d, w, M (30 days) or y (365 days), e.g. "+10m"`,
    );
  }
  const [, sign, digits, unit] = match as unknown as [string, string, string, string];
  const seconds = Number(digits) * (UNIT_SECONDS[unit] ?? 1);
  if (!Number.isSafeInteger(seconds)) {
    throw new SessionError('INVALID_DURATION', `invalid duration "${input}": too large`);
  }
  return sign === '-' && seconds !== 0 ? -seconds : seconds;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
