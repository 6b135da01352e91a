import type { NewProduct } from "../../../domain/catalogue/ports";

/** A small deterministic PRNG (mulberry32): the same seed makes the same catalogue on every machine. */
export function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

/** Brand → [model, category, typical price in KRW]. */
const MODELS: Record<string, [string, string, number][]> = {
  Nike: [
    ["Air Max 1", "lifestyle", 169000],
    ["Air Max 90", "lifestyle", 159000],
    ["Air Force 1 '07", "lifestyle", 139000],
    ["Dunk Low Retro", "lifestyle", 129000],
    ["Pegasus 41", "running", 159000],
    ["Vomero 5", "running", 189000],
    ["Blazer Mid '77", "lifestyle", 119000],
    ["SB Dunk Low Pro", "skateboarding", 139000],
  ],
  Jordan: [
    ["Air Jordan 1 Retro High OG", "basketball", 219000],
    ["Air Jordan 4 Retro", "basketball", 259000],
    ["Air Jordan 11 Retro", "basketball", 289000],
    ["Jordan Luka 3", "basketball", 169000],
  ],
  adidas: [
    ["Samba OG", "lifestyle", 139000],
    ["Gazelle Indoor", "lifestyle", 139000],
    ["Superstar", "lifestyle", 119000],
    ["Ultraboost 1.0", "running", 229000],
    ["Adizero Adios Pro 3", "running", 299000],
    ["Campus 00s", "lifestyle", 129000],
    ["Handball Spezial", "lifestyle", 139000],
  ],
  "New Balance": [
    ["550", "lifestyle", 149000],
    ["990v6 Made in USA", "lifestyle", 279000],
    ["2002R", "lifestyle", 169000],
    ["1906R", "lifestyle", 189000],
    ["9060", "lifestyle", 199000],
    ["Fresh Foam X 1080v14", "running", 209000],
  ],
  Asics: [
    ["Gel-Kayano 14", "lifestyle", 169000],
    ["Gel-1130", "lifestyle", 139000],
    ["GT-2160", "lifestyle", 149000],
    ["Gel-Nimbus 26", "running", 209000],
    ["Novablast 4", "running", 159000],
  ],
  Puma: [
    ["Suede Classic", "lifestyle", 99000],
    ["Palermo", "lifestyle", 109000],
    ["Speedcat OG", "lifestyle", 129000],
  ],
  Converse: [
    ["Chuck 70 Hi", "lifestyle", 109000],
    ["Run Star Hike", "lifestyle", 129000],
  ],
  Vans: [
    ["Old Skool", "skateboarding", 89000],
    ["Sk8-Hi", "skateboarding", 95000],
    ["Authentic", "skateboarding", 75000],
  ],
  Salomon: [
    ["XT-6", "trail", 239000],
    ["Speedcross 6", "trail", 189000],
  ],
  Hoka: [
    ["Clifton 9", "running", 189000],
    ["Bondi 8", "running", 219000],
    ["Speedgoat 6", "trail", 209000],
  ],
  On: [
    ["Cloudmonster 2", "running", 239000],
    ["Cloud 5", "lifestyle", 179000],
  ],
  Reebok: [
    ["Club C 85", "tennis", 99000],
    ["Classic Leather", "lifestyle", 99000],
    ["Nano X4", "training", 159000],
  ],
};

const COLOURWAYS = [
  "Triple White",
  "Black/White",
  "University Red",
  "Panda",
  "Sea Salt",
  "Grey Day",
  "Bred",
  "Cream/Green",
  "Royal Blue",
  "Sail/Gum",
  "Olive",
  "Volt",
  "Mocha",
  "Pink Foam",
  "Shadow",
  "Navy/Gold",
  "Lunar New Year",
  "Seoul",
  "Team Orange",
  "Phantom",
];

export const SEED_CATEGORIES = [...new Set(Object.values(MODELS).flatMap((models) => models.map(([, c]) => c)))];

/**
 * `count` products spread over the sellers: realistic prices around each model's (limited colourways
 * cost more), stock from sold out to warehouse-deep, and a few discontinued.
 */
export function* catalogueProducts(
  count: number,
  sellerIds: string[],
  newId: () => string,
  seed = 42,
): Generator<NewProduct & { discontinued: boolean }> {
  const rng = random(seed);
  const brands = Object.keys(MODELS);
  for (let i = 0; i < count; i++) {
    const brand = rng.pick(brands);
    const [model, category, price] = rng.pick(MODELS[brand] as [string, string, number][]);
    const colourway = rng.pick(COLOURWAYS);
    const limited = rng.next() < 0.08;
    const premium = limited ? rng.int(30, 150) * 1000 : rng.int(-2, 4) * 5000;
    const tier = rng.next();
    const stock = tier < 0.08 ? 0 : tier < 0.22 ? rng.int(1, 5) : tier < 0.85 ? rng.int(6, 200) : rng.int(201, 2000);
    yield {
      id: newId(),
      sellerId: sellerIds[i % sellerIds.length] as string,
      name: `${model} "${colourway}"${limited ? " (Limited)" : ""}`,
      description: `${brand} ${model} in ${colourway}.`,
      brand,
      category,
      price: Math.max(1000, Math.round((price + premium) / 1000) * 1000),
      stock: limited ? Math.min(stock, rng.int(0, 30)) : stock,
      lowStockThreshold: 5,
      discontinued: rng.next() < 0.02,
    };
  }
}
