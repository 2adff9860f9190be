/** One product the shop sells. Prices are in cents, as the server checks them. */
export interface Product {
  sku: string;
  name: string;
  price: number;
}

/** What the server sells, at what price: the only source of truth for the cart check. */
export const CATALOG: readonly Product[] = [
  { sku: 'mug', name: 'Session mug', price: 1200 },
  { sku: 'tee', name: 'CGI::Session T-shirt', price: 2500 },
  { sku: 'stickers', name: 'Sticker pack', price: 400 },
  { sku: 'cap', name: 'Cookie cap', price: 1800 },
];

/**
 * Offers a stale page might still show: the server refuses them (the cart's schema checks
 * each line against CATALOG), which is how the demo shows an optimistic write rolled back.
 */
export const STALE_OFFERS: readonly Product[] = [
  { sku: 'tee', name: 'CGI::Session T-shirt (last week’s price)', price: 900 },
  { sku: 'vhs', name: 'VHS rewinder (discontinued)', price: 700 },
];

export function findProduct(sku: string): Product | undefined {
  return CATALOG.find((product) => product.sku === sku);
}

/**
 * The name to show for a cart line: a refused offer stays in the optimistic cart for a moment
 * before the rollback, and must read as what the user clicked, not as its bare code.
 */
export function displayName(sku: string): string {
  return findProduct(sku)?.name ?? STALE_OFFERS.find((offer) => offer.sku === sku)?.name ?? sku;
}

export function formatPrice(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
