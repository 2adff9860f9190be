import { Catalog } from '@/components/Catalog';
import { Cart } from '@/components/Cart';
import { Inspector } from '@/components/Inspector';

export default function ShopPage() {
  return (
    <div className="grid">
      <Catalog />
      <Cart />
      <Inspector />
    </div>
  );
}
