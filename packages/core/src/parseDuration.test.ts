import { describe, expect, it } from 'vitest';
import { SessionError, parseDuration } from './index.js';

function thrown(input: unknown): SessionError {
  let caught: unknown;
  try {
    parseDuration(input as string);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SessionError);
  return caught as SessionError;
}

describe('parseDuration', () => {
  it.each([
    ['1s', 1],
    ['1m', 60],
    ['1h', 3600],
    ['1d', 86_400],
    ['1w', 604_800],
    ['1M', 2_592_000],
    ['1y', 31_536_000],
  ])('S35: one unit: %s is %i seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([
    ['1m', 60],
    ['+1m', 60],
    ['-1m', -60],
    ['+1s', 1],
    ['2h', 7200],
    ['5d', 432_000],
    ['-10s', -10],
    ['1w', 604_800],
    ['1M', 2_592_000],
    ['1y', 31_536_000],
    ['+10m', 600],
    ['-1d', -86_400],
    ['-2y', -63_072_000],
    ['30s', 30],
  ])("S35: t/str2seconds.t: '%s' is %i", (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([
    ['10', 10],
    ['+10', 10],
    ['-10', -10],
    ['0', 0],
    ['007', 7],
    ['3600', 3600],
  ])("S35: a bare integer string '%s' is seconds", (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it('S35: numbers are seconds, sign kept', () => {
    expect(parseDuration(3600)).toBe(3600);
    expect(parseDuration(-10)).toBe(-10);
    expect(parseDuration(0)).toBe(0);
  });

  it("S37: '0' in any form is zero (cancel), never -0", () => {
    for (const input of [0, '0', '+0', '-0', '0s', '-0m', '+0y']) expect(Object.is(parseDuration(input), 0)).toBe(true);
  });

  it.each(['pumpkin', '10x', '1.5h', 'h', '1 h', '1mo', '', ' 10', '10 ', '1H', '1S', '--1', '+-1', '1e3', '0x10', '1hh', 'm1', '1,5h', '1_000', '\u0661'])(
    "S36: '%s' throws INVALID_DURATION naming the bad string",
    (input) => {
      const error = thrown(input);
      expect(error.code).toBe('INVALID_DURATION');
      expect(error.message).toContain(`"${input}"`);
    },
  );

  it.each([1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53])(
    'S36: the non-integer or unsafe number %s throws INVALID_DURATION',
    (input) => {
      expect(thrown(input).code).toBe('INVALID_DURATION');
    },
  );

  it.each([null, undefined, {}, [], true, 10n])('S36: a %s that is neither number nor string throws INVALID_DURATION', (input) => {
    expect(thrown(input).code).toBe('INVALID_DURATION');
  });

  it('S36: a duration too large for exact seconds throws', () => {
    expect(thrown('999999999999999999y').code).toBe('INVALID_DURATION');
  });
});
