import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDumperSerializer, dumperSerializer } from './dumper.js';
import { DumperSyntaxError, parseDumper } from './dumper/parseDumper.js';

const latin1Bytes = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));

describe('dumper: reading what Perl Data::Dumper writes', () => {
  it('reads CGI::Session default output (Indent 0, Purity 1): numbers, quoted numbers, undef, nesting', () => {
    // Written by CGI::Session::Serialize::default->freeze under Perl 5.36 / Data::Dumper 2.184.
    const text = `$D = {'f' => '3.14','n' => 42,'sci' => '1e5','u' => undef,'qs' => '42','nl' => 'a\nb\tc\r','neg' => -7,'lz' => '007','s' => 'it\\'s a \\\\ back','zero' => 0,'e' => '','wide' => "\\x{263a}x\\"\\$\\@y",'h' => {'' => 'empty','k ey' => 'v'},'a' => [1,'two',[3],{'x' => undef}],'big' => 1796283015};;$D`;
    expect(parseDumper(text)).toEqual({
      f: '3.14', n: 42, sci: '1e5', u: null, qs: '42', nl: 'a\nb\tc\r', neg: -7, lz: '007',
      s: "it's a \\ back", zero: 0, e: '', wide: '\u263ax"$@y', h: { '': 'empty', 'k ey': 'v' },
      a: [1, 'two', [3], { x: null }], big: 1796283015,
    });
  });

  it('reads Indent 1 output and the closing $D with or without a semicolon', () => {
    const text = "$D = {\n  'a' => [\n    1,\n    'two'\n  ],\n  'h' => {\n    'x' => undef\n  }\n};\n$D";
    expect(parseDumper(text)).toEqual({ a: [1, 'two'], h: { x: null } });
    expect(parseDumper("$VAR1 = {'a' => 1};")).toEqual({ a: 1 });
    expect(parseDumper("{'a' => 1}")).toEqual({ a: 1 }); // Terse
  });

  it('decodes byte strings as UTF-8, keeps Latin-1 bytes as characters, reads \\x{...} as characters', () => {
    // 'café' as a Perl byte string holding UTF-8; "\xdc" alone is a Latin-1 byte string.
    const bytes = latin1Bytes("$D = {'b' => 'caf\xc3\xa9','l' => '\xdcn\xef','u' => \"\\x{dc}n\\x{ef}\",'k\xc3\xa9' => 1};;$D");
    expect(parseDumper(bytes)).toEqual({ b: 'café', l: 'Ünï', u: 'Ünï', 'ké': 1 });
  });

  it('reads every escape Useqq writes: \\n \\t \\r \\f \\b \\a \\e, octal bytes, \\xHH, \\x{...}, \\cX, \\N{U+...}', () => {
    const text = '$D = {\'s\' => "\\n\\t\\r\\f\\b\\a\\e\\0\\177\\x41\\x{1F600}\\cA\\N{U+263A}\\303\\251\\\\"};;$D';
    expect(parseDumper(text)).toEqual({ s: '\n\t\r\f\b\x07\x1b\0\x7fA\u{1F600}\x01\u263aé\\' });
  });

  it("applies Purity's statements for shared references", () => {
    expect(parseDumper("$D = {'b' => [],'a' => []};$D->{'a'} = $D->{'b'};;$D")).toEqual({ a: [], b: [] });
    expect(parseDumper("$D = {'b' => {'x' => [5]},'a' => [1,{}]};$D->{'a'}[1] = $D->{'b'}{'x'};;$D")).toEqual({ a: [1, [5]], b: { x: [5] } });
  });

  it('keeps __proto__ and constructor as plain own keys, never a prototype', () => {
    const table = parseDumper("$D = {'__proto__' => {'polluted' => 'yes'},'constructor' => {'prototype' => {'polluted' => 1}}};;$D") as Record<string, unknown>;
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    expect(Object.hasOwn(table, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['code', "$D = {'a' => system('id')};;$D"],
    ['a sub', "$D = {'a' => sub { 1 }};;$D"],
    ['interpolation', '$D = {\'a\' => "@{[ `id` ]}"};;$D'],
    ['a variable interpolated', '$D = {\'a\' => "$ENV{HOME}"};;$D'],
    ['bless', "$D = bless( {'a' => 1}, 'Evil' );;$D"],
    ['a scalar reference', "$D = {'a' => \\'x'};;$D"],
    ['a case-changing escape', '$D = {\'a\' => "\\Uabc"};;$D'],
    ['another variable', "$D = {'a' => 1};$X->{'a'} = $D;;$D"],
    ['a self-reference (cycle)', "$D = {'a' => {}};$D->{'a'} = $D;;$D"],
    ['an indirect cycle', "$D = {'a' => {'x' => 1},'b' => {'y' => 1}};$D->{'a'}{'x'} = $D->{'b'};$D->{'b'}{'y'} = $D->{'a'};;$D"],
    ['a purity statement creating a key', "$D = {'a' => 1};$D->{'new'} = $D->{'a'};;$D"],
    ['a sparse array index', "$D = {'a' => [1]};$D->{'a'}[999999999] = $D->{'a'};;$D"],
    ['trailing code', "$D = {'a' => 1};;$D; unlink 'x'"],
    ['an unterminated string', "$D = {'a' => 'x};;$D"],
    ['a code point beyond Unicode', '$D = {\'a\' => "\\x{110000}"};;$D'],
  ])('refuses %s', (_label, text) => {
    expect(() => parseDumper(text)).toThrow(DumperSyntaxError);
  });

  it('refuses nesting deeper than 500 levels quickly, without exhausting the stack', () => {
    const deep = `$D = ${'['.repeat(100_000)}${']'.repeat(100_000)};;$D`;
    expect(() => parseDumper(deep)).toThrow(/nested deeper/);
  });

  it('reads hostile long inputs in linear time (backslashes in an unterminated string, huge keys)', () => {
    const started = performance.now();
    expect(() => parseDumper(`$D = {'a' => '${'\\a'.repeat(500_000)}`)).toThrow(DumperSyntaxError);
    expect(() => parseDumper(`$D = {'a' => "${'\\x{'.repeat(200_000)}`)).toThrow(DumperSyntaxError);
    expect(() => parseDumper(`$D = {${'a'.repeat(1_000_000)} => 1};;$D`)).toThrow(DumperSyntaxError);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('dumper: writing for Perl', () => {
  it('writes what CGI::Session default writes: $D = {...};;$D, Indent 0', () => {
    expect(dumperSerializer.freeze({ _SESSION_ID: 'abc', n: 42, s: "it's", a: [1, null], h: {} })).toBe(
      "$D = {'_SESSION_ID' => 'abc','n' => 42,'s' => 'it\\'s','a' => [1,undef],'h' => {}};;$D",
    );
  });

  it('writes non-ASCII as UTF-8 bytes by default and as \\x{...} with strings: characters', () => {
    expect(dumperSerializer.freeze({ s: 'café' })).toBe('$D = {\'s\' => "café"};;$D');
    expect(createDumperSerializer({ strings: 'characters' }).freeze({ s: 'café ☺ \u{1F600}' })).toBe('$D = {\'s\' => "caf\\x{e9} \\x{263a} \\x{1f600}"};;$D');
    expect(createDumperSerializer({ strings: 'characters' }).freeze({ s: 'a$b@c"d\\e\n' })).toBe('$D = {\'s\' => "a\\$b\\@c\\"d\\\\e\\x{a}"};;$D');
  });

  it('writes Perl truth values for booleans, undef for NaN, Dates as ISO strings; refuses what Perl cannot hold', () => {
    expect(dumperSerializer.thaw(dumperSerializer.freeze({ t: true, f: false, nan: Number.NaN, d: new Date(0) }))).toEqual({ t: 1, f: '', nan: null, d: '1970-01-01T00:00:00.000Z' });
    expect(() => dumperSerializer.freeze({ m: new Map() })).toThrow(/Map cannot be written/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => dumperSerializer.freeze(cycle)).toThrow(/cycle/);
    expect(() => dumperSerializer.freeze({ s: '\ud800' })).toThrow(/lone surrogate/);
    expect(() => createDumperSerializer({ strings: 'latin1' as never })).toThrow(/utf8-bytes/);
  });
});

// Plain data as a session holds it: what the writer must give back unchanged through the reader.
const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '', "a'b", 'a\\b', '$x', '@y', 'ключ'));
const scalar = fc.oneof(
  fc.string({ unit: 'binary' }).filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))),
  fc.string({ unit: 'grapheme' }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.constant(null),
);
const plainData = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('table')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  table: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
})).table;

describe('dumper: properties', () => {
  it.each(['utf8-bytes', 'characters'] as const)('round-trips plain data (strings: %s), through bytes as a store keeps them', (strings) => {
    const serializer = createDumperSerializer({ strings });
    fc.assert(fc.property(plainData, (data) => {
      const frozen = serializer.freeze(data);
      expect(serializer.thaw(frozen)).toEqual(data);
      expect(serializer.thaw(new TextEncoder().encode(frozen as string))).toEqual(data);
    }), { numRuns: 300 });
  });

  it('fuzz: any bytes, and mutations of valid text, give a value or DumperSyntaxError; never a hang or pollution', () => {
    const valid = plainData.map((data) => dumperSerializer.freeze(data) as string);
    const mutated = fc.tuple(valid, fc.nat(), fc.nat({ max: 40 }), fc.string({ unit: 'binary', maxLength: 20 })).map(([text, at, cut, insert]) => {
      const position = at % (text.length + 1);
      return text.slice(0, position) + insert + text.slice(position + cut);
    });
    const grammarSoup = fc.array(fc.constantFrom('$D', ' = ', '{', '}', '[', ']', "'", '"', '\\', '=>', ',', ';', 'undef', '->', '$D->{\'a\'}', '\\x{', '1e9', '-', '#', '\n', 'bless(', '__proto__', 'x'), { maxLength: 60 }).map((parts) => parts.join(''));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated, grammarSoup), (input) => {
      try {
        const value = parseDumper(input);
        expect(value === null || typeof value !== 'function').toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(DumperSyntaxError);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.toString.call({})).toBe('[object Object]');
    }), { numRuns: 3000 });
  });
});
