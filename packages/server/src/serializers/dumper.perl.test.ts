import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDumperSerializer } from './dumper.js';
import { parseDumper } from './dumper/parseDumper.js';
import { perlCgiSessionAvailable, perlThawFreeze } from '../testing/perlCgiSession.js';

// The writer against the real thing: Perl's CGI::Session::Serialize::default thaws what we
// wrote (Safe->reval), freezes it again with Data::Dumper, and our parser must read back the
// same data. Integers of up to nine digits stay numbers through Perl; Data::Dumper quotes
// longer ones and every other number, so those come back as strings.

const perl = perlCgiSessionAvailable();

const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '', "a'b", 'a\\b', '$x', '@{[ die ]}', '#', 'ключ', '☺'));
const text = (strings: 'utf8-bytes' | 'characters') =>
  // A Perl byte string is read back as UTF-8 when it is valid UTF-8: text whose characters are
  // all below 0x100 and happen to spell UTF-8 (e.g. "Ã©") is ambiguous once Perl holds it as bytes.
  fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('$ENV{HOME}', '@INC', '"; system("id"); "', "'; die; '", '\\', '\n', 'café'))
    .filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
    .filter((s) => strings === 'utf8-bytes' || !/[\x80-\xff]/.test(s));
const data = (strings: 'utf8-bytes' | 'characters') =>
  fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, text(strings), fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.constant(null), tie('list'), tie('table')),
    list: fc.array(tie('value'), { maxLength: 4 }),
    table: fc.dictionary(key.filter((k) => strings === 'utf8-bytes' || !/[\x80-\xff]/.test(k)), tie('value'), { maxKeys: 5 }),
  })).table;

describe.runIf(perl)('dumper against Perl CGI::Session::Serialize::default', () => {
  it.each(['utf8-bytes', 'characters'] as const)('Perl reads what we write (strings: %s) and gives back the same data', async (strings) => {
    const serializer = createDumperSerializer({ strings });
    const samples = fc.sample(data(strings), { numRuns: 300, seed: 16 });
    const written = samples.map((sample) => serializer.freeze(sample) as string);
    const back = await perlThawFreeze('default', written.map((w) => new TextEncoder().encode(w)));
    back.forEach((perlText, index) => {
      expect(perlText, written[index]).toBeInstanceOf(Buffer);
      expect(parseDumper(perlText as Buffer), written[index]).toEqual(samples[index]);
    });
  });

  it('numbers that are not integers come back as the strings Perl keeps; booleans as 1 and ""', async () => {
    const serializer = createDumperSerializer();
    const [back] = await perlThawFreeze('default', [serializer.freeze({ f: 3.25, e: 1e21, t: true, f0: false, n: -7 }) as string]);
    expect(parseDumper(back as Buffer)).toEqual({ f: '3.25', e: '1e+21', t: 1, f0: '', n: -7 });
  });

  it('what Perl writes for wide characters and byte strings reads as the same text', async () => {
    const characters = createDumperSerializer({ strings: 'characters' });
    const [back] = await perlThawFreeze('default', [characters.freeze({ wide: 'Ünï ☺ \u{1F600}' }) as string]);
    expect((back as Buffer).toString('latin1')).toContain('\\x{263a}'); // Perl wrote a character string
    expect(parseDumper(back as Buffer)).toEqual({ wide: 'Ünï ☺ \u{1F600}' });
  });
});
