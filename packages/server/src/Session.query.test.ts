import { IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';
import type { CgiLikeQuery } from '@isosession/server';
import { signId } from './signedId.js';

// id:static with a request needs a secret (a client could otherwise choose its id).
const SECRET = 'query-test-secret-of-more-than-32-chars';

// S17–S21: Query objects, the claimed id, query(), saveParam / loadParam.

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-s17-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two stored live sessions in `dir`. */
async function twoStored(): Promise<[string, string]> {
  const a = await Session.new(null, null, { Directory: dir });
  a.param('who', 'a');
  await a.flush();
  const b = await Session.new(null, null, { Directory: dir });
  b.param('who', 'b');
  await b.flush();
  return [a.id()!, b.id()!];
}

function request(url: string, cookie?: string): Request {
  return new Request(url, cookie === undefined ? {} : { headers: { cookie } });
}

function nodeRequest(url: string, headers: Record<string, string> = {}): IncomingMessage {
  const message = new IncomingMessage(new Socket());
  message.url = url;
  message.headers = headers;
  return message;
}

/** A CGI.pm-style query: cookie(name) and param(), param(name), param(name, value). */
function cgi(cookies: Record<string, string>, params: Record<string, unknown> = {}) {
  const written: [string, unknown][] = [];
  const query: CgiLikeQuery & { written: typeof written } = {
    written,
    cookie: (name: string) => cookies[name],
    param: (name?: string, value?: unknown) => {
      if (name === undefined) return Object.keys(params);
      if (value !== undefined) {
        written.push([name, value]);
        params[name] = value;
      }
      return params[name];
    },
  };
  return query;
}

describe('S17: where the claim comes from', () => {
  it('S17: the cookie named name() of a Request, an IncomingMessage or a CGI-like query', async () => {
    const [a] = await twoStored();
    const queries = [
      request('http://example.test/', `other=1; CGISESSID=${a}`),
      nodeRequest('/', { cookie: `CGISESSID=${a}` }),
      cgi({ CGISESSID: a }),
    ];
    for (const query of queries) {
      const s = await Session.load(null, query, { Directory: dir });
      expect(s.id()).toBe(a);
      expect(s.param('who')).toBe('a');
    }
  });

  it('S17: by default the URL param is not read (deliberate difference from Perl)', async () => {
    const [a] = await twoStored();
    for (const query of [request(`http://example.test/?CGISESSID=${a}`), nodeRequest(`/?CGISESSID=${a}`), cgi({}, { CGISESSID: a }), new URLSearchParams({ CGISESSID: a })]) {
      const loaded = await Session.load(null, query, { Directory: dir });
      expect(loaded.isEmpty()).toBe(true);
      const made = await Session.new(null, query, { Directory: dir });
      expect(made.id()).not.toBe(a);
      expect(made.isNew()).toBe(true);
    }
  });

  it("S17: with idFrom: ['query'] the URL or body param of that name is the claim", async () => {
    const [a] = await twoStored();
    const form = new FormData();
    form.append('CGISESSID', a);
    const queries = [
      request(`http://example.test/page?CGISESSID=${a}`),
      nodeRequest(`/page?x=1&CGISESSID=${a}`),
      new URLSearchParams({ CGISESSID: a }),
      form,
      cgi({}, { CGISESSID: a }),
    ];
    for (const query of queries) {
      const s = await Session.load(null, query, { Directory: dir }, { idFrom: ['query'] });
      expect(s.id()).toBe(a);
    }
  });

  it('S17: a cookie wins over a param', async () => {
    const [a, b] = await twoStored();
    for (const idFrom of [['cookie', 'query'], ['query', 'cookie']] as const) {
      const fromRequest = await Session.load(null, request(`http://example.test/?CGISESSID=${b}`, `CGISESSID=${a}`), { Directory: dir }, { idFrom: [...idFrom] });
      expect(fromRequest.id()).toBe(a);
      const fromCgi = await Session.load(null, cgi({ CGISESSID: a }, { CGISESSID: b }), { Directory: dir }, { idFrom: [...idFrom] });
      expect(fromCgi.id()).toBe(a);
    }
  });

  it('S17: with cookies allowed, a param is the fallback when no cookie is sent', async () => {
    const [, b] = await twoStored();
    const s = await Session.load(null, request(`http://example.test/?CGISESSID=${b}`, 'unrelated=1'), { Directory: dir }, { idFrom: ['cookie', 'query'] });
    expect(s.id()).toBe(b);
  });

  it("S17: with idFrom: ['query'] only, the cookie is not read", async () => {
    const [a] = await twoStored();
    const s = await Session.load(null, request('http://example.test/', `CGISESSID=${a}`), { Directory: dir }, { idFrom: ['query'] });
    expect(s.isEmpty()).toBe(true);
  });
});

describe('S18: queries without cookies', () => {
  const cookieFree = (): [string, unknown][] => [
    ['a CGI-like object with only param()', { param: () => undefined }],
    ['a CGI-like object with param() listing nothing', { param: (name?: string) => (name === undefined ? [] : undefined) }],
    ['a Request without a Cookie header', request('http://example.test/')],
    ['an IncomingMessage without a Cookie header', nodeRequest('/')],
    ['URLSearchParams', new URLSearchParams('a=1')],
    ['FormData', new FormData()],
    ['an empty object', {}],
  ];

  it('S18: new() accepts each and makes a fresh session', async () => {
    for (const [label, query] of cookieFree()) {
      const s = await Session.new(null, query as CgiLikeQuery, { Directory: dir });
      expect(s.isNew(), label).toBe(true);
      expect(s.id(), label).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('S18: load() accepts each and resolves empty', async () => {
    for (const [label, query] of cookieFree()) {
      const s = await Session.load(null, query as CgiLikeQuery, { Directory: dir }, { idFrom: ['cookie', 'query'] });
      expect(s.isEmpty(), label).toBe(true);
      expect(s.isExpired(), label).toBe(false);
    }
  });
});

describe('S19: sessionParams.name picks the cookie/param the claim is read from', () => {
  it('S19: itchy=2001 claims 2001', async () => {
    const dsn = 'driver:file;id:static';
    const fromCookie = await Session.new(dsn, request('http://example.test/', `itchy=${signId('2001', SECRET)}`), { Directory: dir }, { name: 'itchy', secret: SECRET });
    expect(fromCookie.id()).toBe('2001');
    expect(fromCookie.name()).toBe('itchy');
    const fromParam = await Session.new(dsn, cgi({}, { itchy: signId('2001', SECRET) }), { Directory: dir }, { name: 'itchy', idFrom: ['query'], secret: SECRET });
    expect(fromParam.id()).toBe('2001');
  });

  it('S19: CGISESSID=2001 claims nothing, so id:static rejects', async () => {
    const dsn = 'driver:file;id:static';
    await expect(Session.new(dsn, request('http://example.test/', `CGISESSID=${signId('2001', SECRET)}`), { Directory: dir }, { name: 'itchy', secret: SECRET }))
      .rejects.toMatchObject({ code: 'ID_GENERATION' });
    await expect(Session.new(dsn, cgi({}, { CGISESSID: signId('2001', SECRET) }), { Directory: dir }, { name: 'itchy', idFrom: ['cookie', 'query'], secret: SECRET }))
      .rejects.toBeInstanceOf(SessionError);
  });

  it('S19: a stored session is found under the custom name only', async () => {
    const [a] = await twoStored();
    const named = await Session.load(null, request('http://example.test/', `itchy=${a}`), { Directory: dir }, { name: 'itchy' });
    expect(named.id()).toBe(a);
    const wrong = await Session.load(null, request('http://example.test/', `CGISESSID=${a}`), { Directory: dir }, { name: 'itchy' });
    expect(wrong.isEmpty()).toBe(true);
  });
});

describe('S20: query()', () => {
  it('S20: returns the very Query given to new or load', async () => {
    const [a] = await twoStored();
    const queries = [request('http://example.test/', `CGISESSID=${a}`), nodeRequest('/'), cgi({}), new URLSearchParams()];
    for (const query of queries) {
      expect((await Session.new(null, query, { Directory: dir })).query()).toBe(query);
      expect((await Session.load(null, query, { Directory: dir })).query()).toBe(query);
    }
  });

  it('S20: undefined when made from an id or from nothing', async () => {
    const [a] = await twoStored();
    expect((await Session.new(null, null, { Directory: dir })).query()).toBeUndefined();
    expect((await Session.new(null, a, { Directory: dir })).query()).toBeUndefined();
    expect((await Session.load(null, a, { Directory: dir })).query()).toBeUndefined();
    expect((await Session.load(null, null, { Directory: dir })).query()).toBeUndefined();
  });
});

describe('S21: saveParam and loadParam', () => {
  it('S21: saveParam(q) copies every param of q; several values become an array', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.saveParam(new URLSearchParams('colour=red&size=m&size=l&tag=x&tag=y&tag=z'));
    expect(s.param().sort()).toEqual(['colour', 'size', 'tag']);
    expect(s.param('colour')).toBe('red');
    expect(s.param('size')).toEqual(['m', 'l']);
    expect(s.param('tag')).toEqual(['x', 'y', 'z']);
    await s.flush();
    const loaded = await Session.load(null, s.id(), { Directory: dir });
    expect(loaded.param('size')).toEqual(['m', 'l']);
  });

  it('S21: saveParam(q) with a CGI-like query: one value stays a scalar', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.saveParam(cgi({}, { name: 'sherzod', langs: ['perl', 'ts'] }));
    expect(s.param('name')).toBe('sherzod');
    expect(s.param('langs')).toEqual(['perl', 'ts']);
  });

  it('S21: saveParam(q, names) copies only the named params that q has', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.saveParam(new URLSearchParams('a=1&b=2&c=3'), ['a', 'c', 'missing']);
    expect(s.param().sort()).toEqual(['a', 'c']);
    expect(s.param('missing')).toBeUndefined();
  });

  it("S21: saveParam() without q uses the session's own query", async () => {
    const q = new URLSearchParams('from=query');
    const s = await Session.new(null, q, { Directory: dir });
    s.saveParam();
    expect(s.param('from')).toBe('query');
  });

  it('S21: loadParam(q) calls q.param(name, value) for every public param', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param({ a: 1, b: ['x', 'y'], c: { deep: true } });
    const q = cgi({});
    s.loadParam(q);
    expect(q.written.sort(([x], [y]) => x.localeCompare(y))).toEqual([['a', 1], ['b', ['x', 'y']], ['c', { deep: true }]]);
    expect(q.written.some(([name]) => name.startsWith('_SESSION_'))).toBe(false);
  });

  it('S21: loadParam(q, names) writes only those names', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param({ a: 1, b: 2, c: 3 });
    const q = cgi({});
    s.loadParam(q, ['b', 'c']);
    expect(q.written).toEqual([['b', 2], ['c', 3]]);
  });

  it('S21: loadParam(URLSearchParams) fills it', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param({ a: 'one', list: ['x', 'y'] });
    const q = new URLSearchParams();
    s.loadParam(q);
    expect(q.get('a')).toBe('one');
    expect(q.getAll('list')).toEqual(['x', 'y']);
  });
});
