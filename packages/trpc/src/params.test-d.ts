import { expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { createSessionRouter } from './createSessionRouter.js';
import { defineSessionParams } from './params.js';

const params = defineSessionParams({
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
  user: { schema: z.string().nullable(), default: null },
});
const router = createSessionRouter({ params });
type Inputs = inferRouterInputs<typeof router>;
type Outputs = inferRouterOutputs<typeof router>;

it('the router types its procedures from the params', () => {
  expectTypeOf<Outputs['get']['params']>().toEqualTypeOf<{ theme: 'light' | 'dark'; user: string | null }>();
  expectTypeOf<Inputs['set']>().toEqualTypeOf<{ name: 'theme'; value: 'light' | 'dark' }>();
  expectTypeOf<Inputs['clear']>().toEqualTypeOf<{ names: 'theme'[] }>();
});

it('defaults must match their schema', () => {
  // @ts-expect-error 'blue' is not a theme
  defineSessionParams({ theme: { schema: z.enum(['light', 'dark']), default: 'blue', writable: true } });
  // @ts-expect-error 'blue' is not a theme
  createSessionRouter({ params: { theme: { schema: z.enum(['light', 'dark']), default: 'blue' } } });
});
