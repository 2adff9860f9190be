import { Suspense } from 'react';
import { Catalog } from '@/components/Catalog';
import { Cart } from '@/components/Cart';
import { Inspector } from '@/components/Inspector';

export default function ShopPage() {
  return (
    // The hooks suspend only without a session (one removed between the proxy and this render).
    <Suspense fallback={<p className="muted">Starting a session…</p>}>
      <h1 className="page-title">Shop</h1>
      <div className="grid">
        <Catalog />
        <Cart />
        <Inspector />
      </div>
    </Suspense>
  );
}
