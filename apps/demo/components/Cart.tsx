'use client';
import { useSessionParam } from '@isosession/react';
import { displayName, formatPrice } from '@/lib/catalog';

export function Cart() {
  const [cart, setCart, { pending, error }] = useSessionParam('cart');
  const total = cart.reduce((sum, line) => sum + line.price, 0);
  return (
    <section className="card" aria-busy={pending}>
      <h2>
        Cart (<span data-testid="cart-count">{cart.length}</span>)
        <span className="muted" data-testid="cart-state">
          {pending ? ' saving…' : ' saved'}
        </span>
      </h2>
      {error && (
        <p role="alert" className="error" data-testid="cart-error">
          Not added: {error.issues?.[0]?.message ?? error.message}
        </p>
      )}
      {cart.length === 0 && (
        <p className="muted" data-testid="cart-empty">
          Your cart is empty: add something from the products.
        </p>
      )}
      <ul className="lines" data-testid="cart-lines">
        {cart.map((line, index) => (
          <li key={index} data-testid="cart-line">
            <span>{displayName(line.sku)}</span>
            <span className="price">{formatPrice(line.price)}</span>
            <button type="button" aria-label={`Remove ${displayName(line.sku)} from cart`} onClick={() => setCart((current) => current.filter((_, i) => i !== index))}>
              ✕
            </button>
          </li>
        ))}
      </ul>
      <p>
        Total: <strong data-testid="cart-total">{formatPrice(total)}</strong>
      </p>
    </section>
  );
}
