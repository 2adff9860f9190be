import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { Session } from '@isosession/server';
import { createSessionContext } from '@isosession/trpc';
import { createTestRouter, tempStore } from '@isosession/test-support/contracts';
import { recordFigures } from './support/figures.js';
import { expectNoPollution, noHang, pollutingValue } from './support/fuzzGuards.js';
import { FUZZ_RUNS } from './support/scale.js';

// Reliability battery, "Bad input", tRPC: whatever a browser (or an attacker posing as one) sends to the
// session router — any value for any param name, malformed batches and bodies — is refused
// with BAD_REQUEST / FORBIDDEN (HTTP 4xx) and a message, or accepted when the schema says so:
// never a 500, never a hang, never a prototype change, never a private param in the answer.

const PUBLIC = ['theme', 'cart', 'counter', 'lastSeen', 'user'];
const NAMES = [...PUBLIC, 'userId', 'csrfSecret', '_SESSION_ID', '_SESSION_ATIME', '__proto__', 'constructor', 'prototype', 'toString', 'nope', ''];
const cases: Record<string, number> = {};
const store = tempStore();
const router = createTestRouter({ dsn: 'driver:file;serializer:superjson', dsnArgs: store.dsnArgs });

afterAll(() => {
  recordFigures('fuzz: tRPC inputs', { runsPerProperty: FUZZ_RUNS, cases, total: Object.values(cases).reduce((sum, count) => sum + count, 0) });
  store.remove();
});

const anyValue = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withObjectString: true, maxDepth: 3 }),
  pollutingValue,
  fc.constantFrom('light', 'dark', 0, -1, 2 ** 53, Number.NaN, [], [{ sku: 'a', qty: 1 }], [{ sku: '', qty: 0 }], new Date(Number.NaN), new Date(0), null),
);
const anyName = fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 12 }));

/** A visitor whose session server code has written (a cookie-less `get` stores nothing). */
async function newCookie(): Promise<string> {
  const session = await Session.new('driver:file;serializer:superjson', null, store.dsnArgs);
  session.param('visited', true);
  await session.flush();
  return `CGISESSID=${session.id()}`;
}

function callerFor(cookie: string) {
  return router.createCaller(createSessionContext({ req: new Request('http://app.test/trpc', { headers: { cookie } }), resHeaders: new Headers() }));
}

// superjson refuses to serialize some polluting shapes itself; such a body is then sent raw.
function safeStringify(value: unknown): string {
  try {
    return superjson.stringify(value);
  } catch {
    return JSON.stringify(value) ?? '{}';
  }
}

function safeSerialize(value: unknown): unknown {
  try {
    return superjson.serialize(value);
  } catch {
    return {};
  }
}

async function firstChunk(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

async function expectRefusedOrDone(work: Promise<unknown>, what: string): Promise<void> {
  try {
    await noHang(work, what);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(TRPCError);
    expect(['BAD_REQUEST', 'FORBIDDEN']).toContain((error as TRPCError).code);
    expect((error as TRPCError).message).toMatch(/^isosession: /);
  }
}

describe('fuzz: tRPC session router inputs', () => {
  it('set / clear through createCaller with any input: accepted per schema or BAD_REQUEST/FORBIDDEN', async () => {
    const cookie = await newCookie();
    const caller = callerFor(cookie);
    const setInput = fc.oneof(anyValue, fc.record({ name: anyName, value: anyValue }), fc.record({ name: anyName, value: anyValue }, { requiredKeys: ['name'] }));
    const clearInput = fc.oneof(anyValue, fc.record({ names: fc.array(anyName, { maxLength: 4 }) }), fc.record({ names: anyValue }));
    await fc.assert(fc.asyncProperty(setInput, clearInput, async (set, clear) => {
      cases['set + clear (createCaller)'] = (cases['set + clear (createCaller)'] ?? 0) + 1;
      await expectRefusedOrDone(caller.set(set as never), 'set');
      await expectRefusedOrDone(caller.clear(clear as never), 'clear');
      const snapshot = await caller.get();
      expect(Object.keys(snapshot.params).every((name) => PUBLIC.includes(name))).toBe(true);
      expectNoPollution();
    }), { numRuns: FUZZ_RUNS });
  });

  it('raw HTTP bodies, paths and batches through the fetch adapter: 2xx or 4xx, never 5xx', async () => {
    const cookie = await newCookie();
    const handle = (request: Request) => fetchRequestHandler({ endpoint: '/trpc', req: request, router, createContext: ({ req, resHeaders }) => createSessionContext({ req, resHeaders }) });
    const path = fc.oneof(
      { arbitrary: fc.constantFrom('set', 'clear', 'get', 'destroy', 'watch', 'set,clear', 'get,set,get'), weight: 6 },
      { arbitrary: fc.constantFrom('', 'nope', '__proto__', 'set,constructor', 'toString'), weight: 1 },
      { arbitrary: fc.string({ maxLength: 12 }).map(encodeURIComponent), weight: 1 },
    );
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      anyValue.map(safeStringify),
      fc.record({ name: anyName, value: anyValue }).map(safeStringify),
      fc.dictionary(fc.constantFrom('0', '1', '2', '__proto__', 'x'), anyValue.map(safeSerialize)).map((batch) => JSON.stringify(batch)),
      fc.jsonValue().map((value) => JSON.stringify({ json: value, meta: { values: value } })),
    );
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(path, body, fc.boolean(), fc.constantFrom('POST', 'GET'), async (procedure, text, batch, method) => {
      cases['HTTP body/path/batch (fetch adapter)'] = (cases['HTTP body/path/batch (fetch adapter)'] ?? 0) + 1;
      const query = `${batch ? 'batch=1' : ''}${method === 'GET' ? `${batch ? '&' : ''}input=${encodeURIComponent(text)}` : ''}`;
      const request = new Request(`http://app.test/trpc/${procedure}${query ? `?${query}` : ''}`, {
        method,
        headers: { cookie, 'content-type': 'application/json', host: 'app.test' },
        body: method === 'POST' ? text : undefined,
      });
      const response = await noHang(handle(request), `${method} /trpc/${procedure}`);
      // A subscription (watch) answers with an event stream that stays open: take its first event.
      const answer = response.headers.get('content-type')?.includes('text/event-stream')
        ? await noHang(firstChunk(response), 'the first event')
        : await noHang(response.text(), 'the body');
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect(response.status, answer.slice(0, 300)).toBeLessThan(500);
      // Private values never leave the server, whatever was asked.
      expect(answer).not.toMatch(/private-user|private-secret/);
      expectNoPollution();
    }), { numRuns: FUZZ_RUNS });
    process.stdout.write(`reliability: fuzz tRPC HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  });
});
