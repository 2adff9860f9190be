import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { defineSessionParams } from '@isosession/trpc';
import { createSessionTest, createTestSession } from './index.js';
import type { CookieJar, TestSession } from './index.js';

const params = defineSessionParams({
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
  cart: { schema: z.array(z.object({ sku: z.string() })), default: [], writable: true },
  user: { schema: z.string().nullable(), default: null },
});

test('session.params() is typed from the app\'s definitions; private params stay unknown', () => {
  const session = createTestSession({} as CookieJar, { params }, 'http://127.0.0.1');
  type Stored = NonNullable<Awaited<ReturnType<typeof session.params>>>;
  expectTypeOf<Stored['theme']>().toEqualTypeOf<'light' | 'dark' | undefined>();
  expectTypeOf<Stored['cart']>().toEqualTypeOf<Array<{ sku: string }> | undefined>();
  expectTypeOf<Stored['account']>().toEqualTypeOf<unknown>();
  expectTypeOf(session.param('user')).toEqualTypeOf<Promise<string | null | undefined>>();
});

test('createSessionTest(definitions) gives the session fixture those types', () => {
  const typed = createSessionTest(params);
  typed('fixture', async ({ session }) => {
    expectTypeOf(session).toEqualTypeOf<TestSession<typeof params>>();
  });
  const untyped = createSessionTest();
  untyped('fixture', async ({ session }) => {
    expectTypeOf(await session.param('anything')).toEqualTypeOf<unknown>();
  });
});
