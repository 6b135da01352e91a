import type { NewProduct } from "../../../domain/catalogue/ports";
import { seededRandom } from "../../../domain/shared/seeded-random";

/** The seed's PRNG: the same seed makes the same catalogue on every machine. */
export const random = seededRandom;

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

/** Models sold in sizes by several sellers (their model pages): [style code, brand, name, category, price]. */
export const SIZE_RUN_MODELS: [string, string, string, string, number][] = [
  ["DZ5485-612", "Jordan", 'Air Jordan 1 Retro High OG "Chicago Lost and Found"', "basketball", 229000],
  ["DD1391-100", "Nike", 'Dunk Low Retro "Panda"', "lifestyle", 129000],
  ["DQ3989-100", "Nike", 'Air Max 1 \'86 OG "Big Bubble"', "lifestyle", 179000],
  ["B75806", "adidas", 'Samba OG "Cloud White"', "lifestyle", 139000],
  ["BB550WT1", "New Balance", '550 "White Green"', "lifestyle", 149000],
  ["1201A019-108", "Asics", 'Gel-Kayano 14 "Cream/Black"', "lifestyle", 169000],
];
/** Korean (mm) sizes each seller of a model lists. */
export const SIZE_RUN_SIZES = Array.from({ length: 11 }, (_, i) => String(240 + i * 5));
const SELLERS_PER_MODEL = 3;
/** Every how many catalogue products one is a size of a model, until the size runs are used up. */
const SIZED_EVERY = 5;

/** The size runs, in order: each model by three sellers in every size, each seller at its own price. */
function* sizeRuns(sellerIds: string[], newId: () => string, rng: ReturnType<typeof random>) {
  for (const [m, [modelCode, brand, name, category, price]] of SIZE_RUN_MODELS.entries()) {
    for (let offer = 0; offer < SELLERS_PER_MODEL; offer++) {
      const sellerId = sellerIds[(m * SELLERS_PER_MODEL + offer) % sellerIds.length] as string;
      const markup = rng.int(-2, 6) * 5000;
      for (const shoeSize of SIZE_RUN_SIZES) {
        // Sizes at the ends of the run are scarce (and sometimes sold out), as they are in a shop.
        const edge = shoeSize === SIZE_RUN_SIZES[0] || shoeSize === SIZE_RUN_SIZES.at(-1);
        yield {
          id: newId(),
          sellerId,
          name,
          description: `${brand} ${name}, size ${shoeSize} mm.`,
          brand,
          category,
          price: price + markup + (Number(shoeSize) >= 285 ? 10000 : 0),
          stock: edge ? rng.int(0, 2) : rng.int(0, 12),
          lowStockThreshold: 2,
          modelCode,
          shoeSize,
          discontinued: false,
        };
      }
    }
  }
}

export const SEED_CATEGORIES = [...new Set(Object.values(MODELS).flatMap((models) => models.map(([, c]) => c)))];

/**
 * `count` products spread over the sellers: realistic prices around each model's (limited colourways
 * cost more), stock from sold out to warehouse-deep, and a few discontinued. Every fifth one, until they are
 * used up, is a size of one of the SIZE_RUN_MODELS, so a catalogue of 1,000 or more has all their model pages.
 */
export function* catalogueProducts(
  count: number,
  sellerIds: string[],
  newId: () => string,
  seed = 42,
): Generator<NewProduct & { discontinued: boolean }> {
  const rng = random(seed);
  const brands = Object.keys(MODELS);
  const sized = sizeRuns(sellerIds, newId, random(seed + 1));
  let plain = 0;
  for (let i = 0; i < count; i++) {
    if (i % SIZED_EVERY === 0) {
      const next = sized.next();
      if (!next.done) {
        yield next.value;
        continue;
      }
    }
    const brand = rng.pick(brands);
    const [model, category, price] = rng.pick(MODELS[brand] as [string, string, number][]);
    const colourway = rng.pick(COLOURWAYS);
    const limited = rng.next() < 0.08;
    const premium = limited ? rng.int(30, 150) * 1000 : rng.int(-2, 4) * 5000;
    const tier = rng.next();
    const stock = tier < 0.08 ? 0 : tier < 0.22 ? rng.int(1, 5) : tier < 0.85 ? rng.int(6, 200) : rng.int(201, 2000);
    yield {
      id: newId(),
      sellerId: sellerIds[plain++ % sellerIds.length] as string,
      name: `${model} "${colourway}"${limited ? " (Limited)" : ""}`,
      description: `${brand} ${model} in ${colourway}.`,
      brand,
      category,
      price: Math.max(1000, Math.round((price + premium) / 1000) * 1000),
      stock: limited ? Math.min(stock, rng.int(0, 30)) : stock,
      lowStockThreshold: 5,
      modelCode: null,
      shoeSize: null,
      discontinued: rng.next() < 0.02,
    };
  }
}
