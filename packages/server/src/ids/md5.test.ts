import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';

describe('id:md5', () => {
  it('S81: every new session gets a distinct 32-character lower-case hex id', async () => {
    const args = { Namespace: `md5-${randomBytes(6).toString('hex')}` };
    const ids = await Promise.all(Array.from({ length: 500 }, async () => (await Session.new('driver:memory;id:md5', null, args)).id()!));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('S81: md5 is the default id generator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isosession-md5-'));
    try {
      const s = await Session.new(null, null, { Directory: dir });
      expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
      const other = await Session.new(null, null, { Directory: dir });
      expect(other.id()).not.toBe(s.id());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('S81: s.new() on an empty session and a claim the store does not hold both get fresh ids', async () => {
    const args = { Namespace: `md5-${randomBytes(6).toString('hex')}` };
    const empty = await Session.load('driver:memory', null, args);
    const fresh = await empty.new();
    expect(fresh.id()).toMatch(/^[0-9a-f]{32}$/);
    const claimed = 'a'.repeat(32);
    const unheld = await Session.new('driver:memory', claimed, args);
    expect(unheld.id()).toMatch(/^[0-9a-f]{32}$/);
    expect(unheld.id()).not.toBe(claimed);
  });
});
