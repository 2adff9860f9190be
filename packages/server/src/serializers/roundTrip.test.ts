import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';
import { jsonSerializer } from './json.js';
import { v8Serializer } from './v8.js';
import { superjsonSerializer } from './superjson.js';
import { yamlSerializer } from './yaml.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-serial-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Plain data every serializer must return deep-equal (S4, S27), with strings a YAML or JSON
// encoder could mistake for something else.
const PLAIN: Record<string, unknown> = {
  nested: { list: [1, [2, [3, [4, { deep: ['end'] }]]]], empty: {}, none: [] },
  withNulls: [null, 1, null, 'two', null],
  nullValue: null,
  unicode: 'Ünïcödé ✓ 日本語 😀 \u00e9\u0301',
  tricky: ['yes', 'no', 'on', 'off', 'null', '~', 'true', 'True', '0x10', '0o17', '1e3', '.inf', '-.nan', '007', '12:30', '', ' padded ', 'multi\nline\n', 'tab\there', '#hash', '- dash', 'key: value', '[x]', '{y}', '"quoted"', "'single'", '&anchor', '*alias', '!tag', '%directive', '@at', '`tick`', '\\back'],
  numbers: [0, 1, -1, 0.1, -2.5, 1e21, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 5e-324],
  booleans: [true, false],
  record: { 'key with spaces': 1, 'ключ': 2, '123': 3, '': 4, 'a.b': 5 },
};

const SERIALIZERS = ['default', 'json', 'superjson', 'yaml', 'v8'] as const;

describe.each(SERIALIZERS)('serializer %s', (name) => {
  const dsn = `driver:file;serializer:${name}`;

  it('S27: nested data, null elements and unicode strings come back deep-equal after flush + load', async () => {
    const s = await Session.new(dsn, null, { Directory: dir });
    s.param(PLAIN);
    await s.flush();
    const loaded = await Session.load(dsn, s.id()!, { Directory: dir });
    for (const [key, value] of Object.entries(PLAIN)) expect(loaded.param(key)).toEqual(value);
    expect(loaded.param().sort()).toEqual(Object.keys(PLAIN).sort());
  });

  it('S27: a second round trip (load, change, flush, load) keeps everything', async () => {
    const s = await Session.new(dsn, null, { Directory: dir });
    s.param(PLAIN);
    s.expire('1h');
    s.expire('unicode', '10m');
    await s.flush();
    const loaded = await Session.load(dsn, s.id()!, { Directory: dir });
    loaded.param('added', { more: [null, 'ü'] });
    await loaded.flush();
    const again = await Session.load(dsn, s.id()!, { Directory: dir });
    expect(again.param('nested')).toEqual(PLAIN.nested);
    expect(again.param('added')).toEqual({ more: [null, 'ü'] });
    expect(again.expire()).toBe(3600);
    expect(again.dataref()._SESSION_EXPIRE_LIST).toEqual({ unicode: 600 });
  });
});

describe.each([
  ['json', jsonSerializer],
  ['superjson', superjsonSerializer],
  ['yaml', yamlSerializer],
  ['v8', v8Serializer],
])('%s freeze/thaw', (_name, serializer) => {
  it('S27: thaw(freeze(x)) deep-equals x for plain data', () => {
    expect(serializer.thaw(serializer.freeze(PLAIN))).toEqual(PLAIN);
  });

  it('S27: thaw accepts the bytes as well as the text of what freeze made', () => {
    const frozen = serializer.freeze(PLAIN);
    const bytes = typeof frozen === 'string' ? new TextEncoder().encode(frozen) : frozen;
    expect(serializer.thaw(bytes)).toEqual(PLAIN);
  });
});
