import { describe, expect, it } from 'vitest';
import { jsonSerializer } from './json.js';
import { yamlSerializer } from './yaml.js';
import { perlCgiSessionAvailable, perlThawFreeze } from '../testing/perlCgiSession.js';

// What Perl's CGI::Session json / yaml serializers (JSON::Syck, YAML::Syck) make of our output:
// Perl thaws it and freezes it again, and we read that back.

const perl = perlCgiSessionAvailable();

describe.runIf(perl)('json and yaml against Perl JSON::Syck / YAML::Syck', () => {
  it('YAML::Syck reads null as undef and booleans as Perl truth values (not the strings "null", "true", "false")', async () => {
    const [back] = await perlThawFreeze('yaml', [yamlSerializer.freeze({ n: null, t: true, f: false, list: [null, true], s: 'true' }) as string]);
    expect(yamlSerializer.thaw(back as Buffer)).toEqual({ n: null, t: 1, f: '', list: [null, 1], s: 'true' });
  });

  it('JSON::Syck reads what json writes; its quoted numbers come back as strings', async () => {
    const [back] = await perlThawFreeze('json', [jsonSerializer.freeze({ n: null, t: true, f: false, i: 42, big: 1796283015, x: 3.5, s: 'café ☺' }) as string]);
    expect(jsonSerializer.thaw(back as Buffer)).toEqual({ n: null, t: '1', f: '', i: 42, big: '1796283015', x: '3.5', s: 'café ☺' });
  });
});

describe('text Perl wrote as raw bytes', () => {
  it('json and yaml read Latin-1 bytes (not UTF-8) one character per byte, next to valid UTF-8', () => {
    // JSON::Syck / YAML::Syck output for { utf8 => "caf\xc3\xa9", latin1 => "caf\xe9" }.
    const json = Uint8Array.from('{"utf8":"caf\xc3\xa9","latin1":"caf\xe9","tail":"\xff"}', (c) => c.charCodeAt(0));
    expect(jsonSerializer.thaw(json)).toEqual({ utf8: 'café', latin1: 'café', tail: 'ÿ' });
    const yaml = Uint8Array.from('--- \nlatin1: caf\xe9\nutf8: caf\xc3\xa9\nshort: \xe2\x98\n', (c) => c.charCodeAt(0));
    expect(yamlSerializer.thaw(yaml)).toEqual({ utf8: 'café', latin1: 'café', short: 'â\x98' });
  });
});
