import { z } from 'zod';
import { defineSessionParams } from '@isosession/trpc';
import { findProduct, formatPrice } from './catalog';

/** A cart line as the browser adds it: the product and the price the shopper saw. */
const CartLine = z.object({ sku: z.string().max(32), price: z.number().int().nonnegative() });

/**
 * The server-side price check: a line for a product the shop does not sell, or at a price
 * other than the catalog's, is refused with a message the shop shows as it rolls back.
 */
export const Cart = z
  .array(CartLine)
  .max(50, 'a cart holds at most 50 items')
  .superRefine((lines, ctx) => {
    lines.forEach((line, index) => {
      const product = findProduct(line.sku);
      if (!product) {
        ctx.addIssue({ code: 'custom', path: [index, 'sku'], message: `“${line.sku}” is no longer sold` });
      } else if (product.price !== line.price) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'price'],
          message: `${product.name} costs ${formatPrice(product.price)} now, not ${formatPrice(line.price)}`,
        });
      }
    });
  });

export type CartLine = z.infer<typeof CartLine>;

/**
 * The session's public params: what the browser sees and (where writable) changes. Anything
 * else the server keeps in the session (the `account` record) never leaves the server.
 */
export const sessionParamDefinitions = defineSessionParams({
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
  cart: { schema: Cart, default: [], writable: true },
  user: { schema: z.string().nullable(), default: null },
  loggedIn: { schema: z.boolean(), default: false },
});

export type Theme = 'light' | 'dark';
