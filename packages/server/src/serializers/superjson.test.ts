import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, registerClass } from '@isosession/server';

const dsn = 'driver:file;serializer:superjson';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-superjson-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

class Money {
  constructor(public amount: number, public currency: string) {}
  format(): string {
    return `${this.amount.toFixed(2)} ${this.currency}`;
  }
}

class Cart {
  items: { sku: string; price: Money }[] = [];
  add(sku: string, price: Money): this {
    this.items.push({ sku, price });
    return this;
  }
  total(): number {
    return this.items.reduce((sum, item) => sum + item.price.amount, 0);
  }
}

class NotRegistered {
  value = 1;
  method(): number {
    return this.value;
  }
}

registerClass(Money);
registerClass(Cart, 'shop.Cart');

async function roundTrip(values: Record<string, unknown>): Promise<Session> {
  const s = await Session.new(dsn, null, { Directory: dir });
  s.param(values);
  await s.flush();
  return Session.load(dsn, s.id()!, { Directory: dir });
}

describe('superjson serializer', () => {
  it('S27: keeps Date, Map, Set, BigInt', async () => {
    const when = new Date('2024-02-29T12:34:56.789Z');
    const loaded = await roundTrip({
      when,
      map: new Map<unknown, unknown>([['a', 1], [2, { b: [3] }]]),
      set: new Set(['x', 'y']),
      big: 12345678901234567890n,
      nested: { dates: [when, null], inMap: new Map([['d', new Set([1n])]]) },
    });
    expect(loaded.param('when')).toBeInstanceOf(Date);
    expect((loaded.param('when') as Date).toISOString()).toBe(when.toISOString());
    expect(loaded.param('map')).toEqual(new Map<unknown, unknown>([['a', 1], [2, { b: [3] }]]));
    expect(loaded.param('set')).toEqual(new Set(['x', 'y']));
    expect(loaded.param('big')).toBe(12345678901234567890n);
    expect(loaded.param('nested')).toEqual({ dates: [when, null], inMap: new Map([['d', new Set([1n])]]) });
  });

  it('S27: instances of classes given to registerClass come back as instances', async () => {
    const cart = new Cart().add('apple', new Money(1.5, 'EUR')).add('pear', new Money(2, 'EUR'));
    const loaded = await roundTrip({ cart, price: new Money(9.99, 'USD') });
    const price = loaded.param('price');
    expect(price).toBeInstanceOf(Money);
    expect((price as Money).format()).toBe('9.99 USD');
    const back = loaded.param('cart');
    expect(back).toBeInstanceOf(Cart);
    expect((back as Cart).total()).toBe(3.5);
    expect((back as Cart).items[0]!.price).toBeInstanceOf(Money);
    expect((back as Cart).items[1]!.price.format()).toBe('2.00 EUR');
  });

  it('S27: an unregistered class comes back as plain data, never with its code', async () => {
    const loaded = await roundTrip({ thing: new NotRegistered() });
    const thing = loaded.param('thing') as Record<string, unknown>;
    expect(thing).not.toBeInstanceOf(NotRegistered);
    expect(thing.value).toBe(1);
    expect(typeof thing.method).toBe('undefined');
  });

  it('S27: undefined inside arrays and RegExp survive', async () => {
    const loaded = await roundTrip({ holes: [1, undefined, 3], pattern: /ab+c/gi });
    expect(loaded.param('holes')).toEqual([1, undefined, 3]);
    expect(loaded.param('pattern')).toEqual(/ab+c/gi);
  });
});
