import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { Session } from '@isosession/server';
import type { Session as SessionType } from '@isosession/server';
import { withNodeSession } from '@isosession/server/node';
import { createSessionContext } from '@isosession/trpc';
import { md5IdGenerator, uuidIdGenerator } from '@isosession/test-support/serverInternals';
import { serveNode } from '@isosession/test-support/serveNode';
import type { RunningServer } from '@isosession/test-support/serveNode';
import { PRIVATE, createTestRouter } from '@isosession/test-support/contracts';
import { serveFetch } from '@isosession/test-support/serveFetch';
import type { FetchServer } from '@isosession/test-support/serveFetch';
import { recordFigures } from './support/figures.js';
import { rawRequest } from './support/rawHttp.js';

// "Security checks", end to end over HTTP where a browser would be: id quality, signed
// cookies, session fixation, ipMatch, private params, CSRF on the tRPC router.

const SECRET = 'reliability-battery-secret-0123456789abcdef';
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-reliability-security-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The app: /count (n += 1), /login?user= (user set, then regenerate: the fixation defence). */
function app(sessionParams: Record<string, unknown>, store: string) {
  return withNodeSession((req, res, session: SessionType) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/login') {
      session.param('user', url.searchParams.get('user'));
      session.regenerate();
    } else {
      session.param('n', ((session.param('n') as number | undefined) ?? 0) + 1);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: session.id(), isNew: session.isNew(), n: session.param('n') ?? 0, user: session.param('user') ?? null }));
  }, { dsn: 'driver:file', dsnArgs: { Directory: join(directory, store) }, sessionParams });
}

describe('ids', () => {
  // 100k ids: a fair bit strays beyond 6σ (±949 of 50 000) about once in 500 million bits, so a
  // run of 128 bits fails by chance less than once in a million runs; a bit biased by 1% fails.
  const N = 100_000;
  const SIX_SIGMA = 6 * Math.sqrt(N * 0.25);
  // Chi-square, 15 degrees of freedom, p = 1e-6: a fair nibble position exceeds it once in a million.
  const CHI2_15_P1E6 = 53.6;

  function bitAndNibbleStats(ids: string[], hexPositions: number[]) {
    const ones = new Array<number>(hexPositions.length * 4).fill(0);
    const nibbles = hexPositions.map(() => new Array<number>(16).fill(0));
    for (const id of ids) {
      hexPositions.forEach((position, index) => {
        const value = Number.parseInt(id[position]!, 16);
        nibbles[index]![value]! += 1;
        for (let bit = 0; bit < 4; bit++) if (value & (1 << bit)) ones[index * 4 + bit]! += 1;
      });
    }
    const worstBit = Math.max(...ones.map((count) => Math.abs(count - N / 2)));
    const expected = N / 16;
    const chi2 = nibbles.map((counts) => counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0));
    return { worstBit, worstChi2: Math.max(...chi2), bits: ones.length };
  }

  it('S5/S81: 100k md5 ids are distinct, 128 bits, and every bit and hex digit is evenly spread', () => {
    const ids = Array.from({ length: N }, () => md5IdGenerator.generateId({}) as string);
    expect(new Set(ids).size).toBe(N);
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    const stats = bitAndNibbleStats(ids, Array.from({ length: 32 }, (_, i) => i));
    recordFigures('security: md5 ids', { ids: N, distinct: new Set(ids).size, bits: stats.bits, worstBitDeviation: stats.worstBit, sixSigma: +SIX_SIGMA.toFixed(0), worstNibbleChi2: +stats.worstChi2.toFixed(1), chi2Limit: CHI2_15_P1E6 });
    expect(stats.worstBit).toBeLessThan(SIX_SIGMA);
    expect(stats.worstChi2).toBeLessThan(CHI2_15_P1E6);
  });

  it('100k uuid ids are distinct v4 UUIDs whose 122 random bits are evenly spread', () => {
    const ids = Array.from({ length: N }, () => uuidIdGenerator.generateId({}) as string);
    expect(new Set(ids).size).toBe(N);
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
    // Hex positions that are wholly random (not the dashes, the version digit or the variant digit).
    const positions = Array.from({ length: 36 }, (_, i) => i).filter((i) => ![8, 13, 14, 18, 19, 23].includes(i));
    const stats = bitAndNibbleStats(ids, positions);
    recordFigures('security: uuid ids', { ids: N, bits: stats.bits, worstBitDeviation: stats.worstBit, worstNibbleChi2: +stats.worstChi2.toFixed(1) });
    expect(stats.worstBit).toBeLessThan(SIX_SIGMA);
    expect(stats.worstChi2).toBeLessThan(CHI2_15_P1E6);
  });
});

describe('over HTTP', () => {
  let signed: RunningServer;
  let plain: RunningServer;
  let matched: RunningServer;
  /** The plain app's store seen a minute and more later: past the stale grace period (60 s). */
  let afterGrace: RunningServer;

  beforeAll(async () => {
    signed = await serveNode(app({ secret: SECRET }, 'signed'));
    plain = await serveNode(app({}, 'plain'));
    matched = await serveNode(app({ ipMatch: true }, 'matched'));
    afterGrace = await serveNode(app({ now: () => Date.now() + 61_000 }, 'plain'));
  });

  afterAll(async () => {
    await Promise.all([signed.close(), plain.close(), matched.close(), afterGrace.close()]);
  });

  async function count(server: RunningServer, cookie?: string, localAddress?: string) {
    const answer = await rawRequest(`${server.url}/count`, { headers: cookie ? { cookie } : {}, localAddress });
    expect(answer.status).toBe(200);
    return { ...(JSON.parse(answer.body) as { id: string; isNew: boolean; n: number; user: string | null }), cookie: answer.cookie('CGISESSID') };
  }

  it('signed cookies: every one-character change, a stripped or foreign signature is refused (a fresh session)', async () => {
    const first = await count(signed);
    const cookie = first.cookie!;
    const value = cookie.slice('CGISESSID='.length);
    expect(value).toMatch(/^[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/);
    const forged = new Set<string>();
    for (let i = 0; i < value.length; i++) {
      for (const replacement of ['0', 'f', 'A', '_']) {
        if (value[i] !== replacement) forged.add(value.slice(0, i) + replacement + value.slice(i + 1));
      }
    }
    const id = value.split('.')[0]!;
    forged.add(id); // unsigned
    forged.add(`${id}.`);
    forged.add(value.slice(0, -1)); // truncated signature
    forged.add(`${id}.${randomBytes(32).toString('base64url')}`); // a signature by someone else's key
    forged.add(`${randomBytes(16).toString('hex')}.${value.split('.')[1]}`); // this signature on another id
    let refused = 0;
    for (const tampered of forged) {
      const answer = await count(signed, `CGISESSID=${tampered}`);
      if (answer.isNew && answer.id !== id && answer.n === 1) refused++;
    }
    const after = await count(signed, cookie);
    recordFigures('security: signed-cookie tampering', { forgedCookies: forged.size, refused });
    expect(refused).toBe(forged.size);
    // The real session was never touched by the forgeries: one visit before, this one now.
    expect(after).toMatchObject({ id, isNew: false, n: 2 });
  });

  it('fixation: a planted id is never adopted, and login moves the session to a new id', async () => {
    // An id the attacker made up: never adopted, never stored.
    const planted = randomBytes(16).toString('hex');
    const visit = await count(plain, `CGISESSID=${planted}`);
    expect(visit.id).not.toBe(planted);
    expect((await Session.load('driver:file', planted, { Directory: join(directory, 'plain') })).isEmpty()).toBe(true);
    // A URL param is no claim either (idFrom: ['cookie'] by default).
    const byParam = await rawRequest(`${plain.url}/count?CGISESSID=${visit.id}`);
    expect(JSON.parse(byParam.body).id).not.toBe(visit.id);

    // The attacker's own real session, planted in the victim's browser: logging in regenerates.
    const attacker = await count(plain);
    const login = await rawRequest(`${plain.url}/login?user=victim`, { headers: { cookie: attacker.cookie! } });
    const loggedIn = JSON.parse(login.body) as { id: string; user: string };
    expect(loggedIn.user).toBe('victim');
    expect(loggedIn.id).not.toBe(attacker.id);
    expect(login.cookie('CGISESSID')).toBe(`CGISESSID=${loggedIn.id}`);
    // The attacker's cookie now opens nothing. Within the stale grace period the old id answers
    // 409 STALE with no Set-Cookie (it is never followed to the new session); the old id's
    // session is gone from the store either way.
    const attackerStale = await rawRequest(`${plain.url}/count`, { headers: { cookie: attacker.cookie! } });
    expect(attackerStale.status).toBe(409);
    expect(attackerStale.body).not.toContain(loggedIn.id);
    expect(attackerStale.cookie('CGISESSID')).toBeUndefined();
    expect((await Session.load('driver:file', attacker.id, { Directory: join(directory, 'plain') })).isEmpty()).toBe(true);
    // After the grace period it is an unknown id like any other: a fresh session.
    const attackerAfter = await count(afterGrace, attacker.cookie);
    expect(attackerAfter.id).not.toBe(attacker.id);
    expect(attackerAfter.id).not.toBe(loggedIn.id);
    expect(attackerAfter.user).toBeNull();
    recordFigures('security: fixation', { plantedUnknownAdopted: visit.id === planted, idChangedAtLogin: loggedIn.id !== attacker.id, oldIdStatusInGrace: attackerStale.status, oldIdStillLoads: attackerAfter.id === attacker.id });
  });

  it('S73 ipMatch: the cookie from another address gets a fresh session, and the stolen one is deleted', async () => {
    const owner = await count(matched, undefined, '127.0.0.1');
    expect((await count(matched, owner.cookie, '127.0.0.1'))).toMatchObject({ id: owner.id, n: 2 });
    const thief = await count(matched, owner.cookie, '127.0.0.2');
    expect(thief.id).not.toBe(owner.id);
    expect(thief.n).toBe(1);
    // S73: refusing it deleted the stored session, so the stolen cookie is worthless from now on.
    const ownerAgain = await count(matched, owner.cookie, '127.0.0.1');
    expect(ownerAgain.id).not.toBe(owner.id);
    recordFigures('security: ipMatch', { otherAddressRefused: thief.id !== owner.id, storedCopyDeleted: ownerAgain.id !== owner.id });
  });
});

describe('tRPC router over HTTP', () => {
  let server: FetchServer;
  const store = () => ({ Directory: join(directory, 'trpc') });

  beforeAll(async () => {
    const router = createTestRouter({ dsn: 'driver:file;serializer:superjson', dsnArgs: store() });
    server = await serveFetch((request) => fetchRequestHandler({ endpoint: '/trpc', req: request, router, createContext: ({ req, resHeaders }) => createSessionContext({ req, resHeaders }) }));
  });

  afterAll(async () => {
    await server.close();
  });

  const host = () => new URL(server.origin).host;
  const set = (cookie: string, input: unknown, headers: Record<string, string> = {}) =>
    rawRequest(`${server.origin}/trpc/set`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: superjson.stringify(input) });
  const get = async (cookie: string) => {
    const answer = await rawRequest(`${server.origin}/trpc/get`, { headers: { cookie } });
    return { answer, snapshot: superjson.deserialize<{ params: Record<string, unknown> }>((JSON.parse(answer.body) as { result: { data: never } }).result.data) };
  };

  // A cookie-less `get` stores nothing (a session is stored once something is written), so a
  // visitor with a session is one whose session server code has already written.
  async function browserSession(): Promise<string> {
    const session = await Session.new('driver:file;serializer:superjson', null, store());
    session.param('visited', true);
    await session.flush();
    return `CGISESSID=${session.id()}`;
  }

  it('private params never reach the browser: not in get, watch, set answers, errors or cookies', async () => {
    const cookie = await browserSession();
    const id = cookie.slice('CGISESSID='.length);
    // Server code keeps its own data in the session: declared private params and an undeclared one.
    const session = await Session.load('driver:file;serializer:superjson', id, store());
    session.param({ userId: PRIVATE.userId, csrfSecret: PRIVATE.csrfSecret, internalNote: 'private-note-5c2b' });
    await session.flush();

    const answers = [
      (await get(cookie)).answer,
      await set(cookie, { name: 'theme', value: 'dark' }, { origin: server.origin }),
      await set(cookie, { name: 'userId', value: 'x' }, { origin: server.origin }),
      await rawRequest(`${server.origin}/trpc/clear`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', origin: server.origin }, body: superjson.stringify({ names: ['csrfSecret'] }) }),
      await rawRequest(`${server.origin}/trpc/watch`, { headers: { cookie, accept: 'text/event-stream' }, firstChunkOnly: true }),
    ];
    const { snapshot } = await get(cookie);
    expect(Object.keys(snapshot.params).sort()).toEqual(['cart', 'counter', 'lastSeen', 'theme', 'user']);
    expect(snapshot.params.theme).toBe('dark');
    for (const answer of answers) {
      const everything = `${answer.body}\n${answer.setCookie.join('\n')}`;
      expect(everything).not.toMatch(/private-user|private-secret|private-note|internalNote/);
    }
    // The refused writes left the private values as they were.
    const stored = await Session.load('driver:file;serializer:superjson', id, store());
    expect(stored.param('userId')).toBe(PRIVATE.userId);
    expect(stored.param('csrfSecret')).toBe(PRIVATE.csrfSecret);
    recordFigures('security: private params', { answersChecked: answers.length, leaked: 0 });
  });

  it('CSRF: set, clear and destroy refuse a cross-site Origin or Sec-Fetch-Site and change nothing', async () => {
    const cookie = await browserSession();
    expect((await set(cookie, { name: 'theme', value: 'dark' }, { origin: server.origin, host: host() })).status).toBe(200);
    const attacks: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: `http://${host()}.evil.example` },
      { origin: 'null' },
      { origin: 'not a url' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    const statuses: number[] = [];
    for (const headers of attacks) {
      statuses.push((await set(cookie, { name: 'theme', value: 'light' }, { host: host(), ...headers })).status);
      statuses.push((await rawRequest(`${server.origin}/trpc/clear`, { method: 'POST', headers: { cookie, host: host(), 'content-type': 'application/json', ...headers }, body: superjson.stringify({ names: ['theme'] }) })).status);
      statuses.push((await rawRequest(`${server.origin}/trpc/destroy`, { method: 'POST', headers: { cookie, host: host(), 'content-type': 'application/json', ...headers } })).status);
    }
    recordFigures('security: CSRF', { crossSiteCalls: statuses.length, refused: statuses.filter((status) => status === 403).length });
    expect(statuses.every((status) => status === 403)).toBe(true);
    // Still the same session, still dark: none of the cross-site calls changed anything.
    const { answer, snapshot } = await get(cookie);
    expect(answer.cookie('CGISESSID') ?? cookie).toBe(cookie);
    expect(snapshot.params.theme).toBe('dark');
  });
});
