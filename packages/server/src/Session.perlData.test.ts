import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, clearMemoryStore, createMemoryDriver } from '@isosession/server';

// Tables exactly as Perl's CGI::Session writes them with its Syck-based JSON and YAML
// serializers (captured from CGI::Session 4.48, JSON::Syck / YAML::Syck 1.34) and with its
// default Data::Dumper one: times quoted as digit strings, ETIME and the expiry list as strings,
// an `id:incr` id as a number, text as UTF-8 bytes.

const T0 = 1_700_000_000;
let namespace: string;

beforeEach(() => {
  namespace = `perl-data-${randomBytes(6).toString('hex')}`;
});
afterEach(() => {
  clearMemoryStore(namespace);
});

async function plant(id: string, text: string | Uint8Array): Promise<void> {
  await createMemoryDriver({ Namespace: namespace }).store(id, text, { atime: T0 });
}

const load = (dsn: string, id: string, at: number) =>
  Session.load(`driver:memory;${dsn}`, id, { Namespace: namespace }, { now: () => at * 1000 });

const JSON_SYCK = `{"_SESSION_EXPIRE_LIST":{"x":"600"},"_SESSION_ID":17,"bytes":"caf\u00e9","_SESSION_REMOTE_ADDR":"","_SESSION_ETIME":"60","n":42,"_SESSION_ATIME":"${T0}","x":"kept","_SESSION_CTIME":"${T0}","f":"3.5"}`;
const YAML_SYCK = `--- \n_SESSION_ATIME: '${T0}'\n_SESSION_CTIME: '${T0}'\n_SESSION_ETIME: 60\n_SESSION_EXPIRE_LIST: \n  x: '600'\n_SESSION_ID: 17\n_SESSION_REMOTE_ADDR: ''\nbytes: café\nf: '3.5'\n"n": 42\nnul: ~\nx: kept\n`;

describe.each([
  ['JSON::Syck', 'serializer:json;id:incr', JSON_SYCK],
  ['YAML::Syck', 'serializer:yaml;id:incr', YAML_SYCK],
])('a table written by Perl with %s', (_label, dsn, text) => {
  it('loads: digit-string times and ETIME, string expiry list, numeric id, UTF-8 text', async () => {
    await plant('17', new TextEncoder().encode(text));
    const s = await load(dsn, '17', T0 + 10);
    expect(s.isEmpty()).toBe(false);
    expect(s.id()).toBe('17');
    expect(s.ctime()).toBe(T0);
    expect(s.expire()).toBe(60);
    expect(s.param('bytes')).toBe('café');
    expect(s.param('n')).toBe(42);
    expect(s.param('x')).toBe('kept');
    expect(s.paramExpiresAt()).toEqual({ x: T0 + 10 + 600 });
  });

  it('expires by its string ETIME, measured from its string atime', async () => {
    await plant('17', new TextEncoder().encode(text));
    const s = await load(dsn, '17', T0 + 60);
    expect(s.isExpired()).toBe(true);
    expect(s.isEmpty()).toBe(true);
  });
});

describe('a table written by Perl with Data::Dumper (CGI::Session default)', () => {
  it('loads with serializer:dumper, and a flush writes text Perl reads', async () => {
    const id = 'a'.repeat(32);
    const bytes = Uint8Array.from(`$D = {'_SESSION_ID' => '${id}','_SESSION_ATIME' => ${T0},'_SESSION_CTIME' => ${T0},'_SESSION_REMOTE_ADDR' => '','_SESSION_EXPIRE_LIST' => {},'name' => 'caf\xc3\xa9','uni' => "\\x{dc}n\\x{ef}",'cart' => [1,'two',{'x' => undef}]};;$D`, (c) => c.charCodeAt(0));
    await plant(id, bytes);
    const s = await load('serializer:dumper', id, T0 + 5);
    expect(s.param()).toEqual(['name', 'uni', 'cart']);
    expect(s.param('name')).toBe('café');
    expect(s.param('uni')).toBe('Ünï');
    expect(s.param('cart')).toEqual([1, 'two', { x: null }]);
    s.param('n', 1);
    await s.flush();
    const stored = await createMemoryDriver({ Namespace: namespace }).retrieve(id);
    const data = (stored as { data: string }).data;
    expect(data).toMatch(/^\$D = \{.*\};;\$D$/s);
    expect(data).toContain("'n' => 1");
  });
});

describe('hostile Data::Dumper text in the store', () => {
  it.each([
    ["code", "$D = {'_SESSION_ID' => 'x', 'a' => `rm -rf /`};;$D"],
    ['bless', "$D = bless( {'_SESSION_ID' => 'x'}, 'Evil' );;$D"],
    ['a prototype key', "$D = {'__proto__' => {'_SESSION_ID' => 'x'}};;$D"],
  ])('%s: the load rejects with CORRUPT and leaves the stored copy', async (_label, text) => {
    const id = 'd'.repeat(32);
    await plant(id, text);
    const error = await load('serializer:dumper', id, T0 + 1).catch((reason: unknown) => reason);
    expect((error as { code?: string }).code).toBe('CORRUPT');
    expect(await createMemoryDriver({ Namespace: namespace }).retrieve(id)).not.toBeNull();
    expect(({} as Record<string, unknown>)._SESSION_ID).toBeUndefined();
  });
});
