import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { DsnArgs, SessionParams } from '@isosession/server';
import { createSessionRouter } from '../createSessionRouter.js';
import type { SessionRouterOptions } from '../createSessionRouter.js';
import type { SessionBus } from '../SessionBus.js';

export const CartSchema = z.array(z.object({ sku: z.string().min(1), qty: z.number().int().positive() }));

/** Values server code stores and the browser must never see. */
export const PRIVATE = { userId: 'private-user-7d1f', csrfSecret: 'private-secret-9a3e' } as const;

export interface TestRouterOptions {
  dsn?: string;
  dsnArgs?: DsnArgs;
  sessionParams?: SessionParams;
  csrf?: SessionRouterOptions<never>['csrf'];
  bus?: SessionBus;
  idleExpiry?: SessionRouterOptions<never>['idleExpiry'];
  exposeErrorStack?: boolean;
}

/** The session router the tests use: theme, cart, counter, lastSeen writable; user read-only. */
export function createTestRouter(options: TestRouterOptions = {}) {
  return createSessionRouter({
    dsn: options.dsn ?? 'driver:file',
    dsnArgs: options.dsnArgs,
    sessionParams: options.sessionParams,
    csrf: options.csrf,
    bus: options.bus,
    idleExpiry: options.idleExpiry,
    exposeErrorStack: options.exposeErrorStack,
    privateParams: ['userId', 'csrfSecret'],
    params: {
      theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
      cart: { schema: CartSchema, default: [], writable: true },
      counter: { schema: z.number().int(), default: 0, writable: true },
      lastSeen: { schema: z.date().nullable(), default: null, writable: true },
      user: { schema: z.string().nullable(), default: null },
    },
  });
}

export type TestRouter = ReturnType<typeof createTestRouter>;

/** A fresh session directory for the file driver; `remove()` deletes it. */
export function tempStore(): { dsnArgs: DsnArgs; directory: string; remove(): void } {
  const directory = mkdtempSync(join(tmpdir(), 'isosession-trpc-'));
  return { dsnArgs: { Directory: directory }, directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}
