'use client';
import { useSessionParam } from '@isosession/react';
import { CATALOG, STALE_OFFERS, formatPrice } from '@/lib/catalog';
import type { Product } from '@/lib/catalog';

function ProductCard({ product, testId }: { product: Product; testId: string }) {
  const [, setCart] = useSessionParam('cart');
  return (
    <li className="product">
      <span>{product.name}</span>
      <span className="price">{formatPrice(product.price)}</span>
      {/* Shown in the cart this frame; the write follows, coalesced with quick repeats. */}
      <button type="button" data-testid={testId} aria-label={`Add ${product.name} to cart`} onClick={() => setCart((cart) => [...cart, { sku: product.sku, price: product.price }])}>
        Add
      </button>
    </li>
  );
}

export function Catalog() {
  return (
    <section className="card">
      <h2>Products</h2>
      <ul className="products">
        {CATALOG.map((product) => (
          <ProductCard key={product.sku} product={product} testId={`add-${product.sku}`} />
        ))}
      </ul>
      <h3>From a stale page</h3>
      <p className="muted">The server checks every cart line against its catalog and refuses these.</p>
      <ul className="products">
        {STALE_OFFERS.map((product) => (
          <ProductCard key={`stale-${product.sku}`} product={product} testId={`add-stale-${product.sku}`} />
        ))}
      </ul>
    </section>
  );
}
