// The demo shop `bun run seed` makes beside the catalogue (unless --no-demo): an admin, two sellers with a few
// sneakers, three buyers with charged balances, two coupons (one limited, claimed through the first-come path) and
// orders in every state a newcomer wants to look at: paid, shipped, delivered and completed, refunded, and refunded
// after delivery with the pairs awaiting their return (one recorded, one still awaited). It is made
// through the HTTP API, in process (the app's own fetch, no port), as a client would make it: the books, events and
// caches are the ones real requests leave, and the contract (shared/api.md) is all it relies on.
import type { createApp } from "../../../app";

type App = ReturnType<typeof createApp>;

export const DEMO_PASSWORD = "kicks-demo-2026";
export const DEMO_ADMIN_EMAIL = "demo-admin@demo.kicks";
// Checksum-valid Korean business registration numbers (the contract's format).
const BUSINESS_NUMBERS = ["124-81-00998", "220-81-62517"];

/** Every demo account (password DEMO_PASSWORD), with what there is to see as it. */
export const DEMO_ACCOUNTS = [
  { email: DEMO_ADMIN_EMAIL, role: "ADMIN", note: "sees and does everything" },
  { email: "demo-seller-1@demo.kicks", role: "SELLER", note: "Jordans and Dunks, coupon WELCOME10" },
  {
    email: "demo-seller-2@demo.kicks",
    role: "SELLER",
    note: "Sambas and 990s, limited coupon DROP20K, a Samba awaiting return",
  },
  {
    email: "demo-buyer-1@demo.kicks",
    role: "BUYER",
    note: "an order shipped (WELCOME10 used), one refunded after delivery (return awaited)",
  },
  { email: "demo-buyer-2@demo.kicks", role: "BUYER", note: "an order paid (limited DROP20K used)" },
  {
    email: "demo-buyer-3@demo.kicks",
    role: "BUYER",
    note: "an order completed, one refunded, one refunded after delivery (returned)",
  },
] as const;

type Json = Record<string, any>;

/** One request to the app; anything but the expected status is an error naming the call and the answer. */
function client(app: App) {
  return async function call(
    method: string,
    path: string,
    options: { body?: Json; token?: string; expect?: number } = {},
  ): Promise<Json> {
    const headers: Record<string, string> = {};
    if (options.body) headers["Content-Type"] = "application/json";
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    const res = await app.request(`/api/v1${path}`, {
      method,
      headers,
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
    const text = await res.text();
    if (res.status !== (options.expect ?? 200)) {
      throw new Error(`demo shop: ${method} ${path} answered ${res.status}: ${text}`);
    }
    return text ? JSON.parse(text) : {};
  };
}

/**
 * Makes the demo shop, unless its admin exists already (an earlier run): returns whether it made it.
 * `ensureAdmin` is the start-up bootstrap (ADMIN_EMAIL), for the one account no HTTP call can create.
 */
export async function seedDemoShop(
  app: App,
  accounts: {
    adminExists(email: string): Promise<boolean>;
    ensureAdmin(email: string, password: string): Promise<"created" | "exists" | "taken">;
  },
): Promise<boolean> {
  const { adminExists, ensureAdmin } = accounts;
  const call = client(app);
  // The admin comes last, so that it says the shop was made in full (a run that stopped half-way left no admin,
  // and its accounts make the next run fail at sign-up with EMAIL_TAKEN: seed a fresh database then).
  if (await adminExists(DEMO_ADMIN_EMAIL)) return false;
  const logIn = async (email: string) =>
    (await call("POST", "/auth/login", { body: { email, password: DEMO_PASSWORD } })) as {
      accessToken: string;
      user: { id: string };
    };

  // Sellers and buyers sign up as anyone would; buyers charge their own wallets.
  const signUp = async (name: string, email: string, extra: Json = {}) => {
    try {
      await call("POST", "/auth/signup", { body: { email, password: DEMO_PASSWORD, name, ...extra }, expect: 201 });
    } catch (error) {
      if (!String(error).includes("EMAIL_TAKEN")) throw error;
      throw new Error(
        `demo shop: ${email} exists but the demo admin does not: an earlier run stopped half-way; seed a fresh database`,
      );
    }
    return logIn(email);
  };
  const sellers = [
    await signUp("Han River Kicks", "demo-seller-1@demo.kicks", {
      role: "SELLER",
      businessRegistrationNumber: BUSINESS_NUMBERS[0],
      bio: "Jordans and Dunks, authenticated in Seoul",
    }),
    await signUp("Busan Sole Supply", "demo-seller-2@demo.kicks", {
      role: "SELLER",
      businessRegistrationNumber: BUSINESS_NUMBERS[1],
      bio: "Runners and terrace classics",
    }),
  ] as const;
  const buyers = [
    await signUp("Kim Minji", "demo-buyer-1@demo.kicks"),
    await signUp("Lee Jisoo", "demo-buyer-2@demo.kicks"),
    await signUp("Park Hyun", "demo-buyer-3@demo.kicks"),
  ] as const;
  const charges = [500_000, 300_000, 1_000_000];
  for (const [i, buyer] of buyers.entries()) {
    await call("POST", "/balances/charge", {
      token: buyer.accessToken,
      body: { userId: buyer.user.id, amount: charges[i] },
    });
  }

  const addProduct = async (seller: { accessToken: string }, product: Json) =>
    (await call("POST", "/products", { token: seller.accessToken, body: product, expect: 201 })).id as string;
  const chicago = { brand: "Jordan", category: "basketball" };
  const jordan270 = await addProduct(sellers[0], {
    ...chicago,
    name: "Air Jordan 1 Retro High OG Chicago 270",
    price: 259_000,
    stock: 4,
  });
  await addProduct(sellers[0], {
    ...chicago,
    name: "Air Jordan 1 Retro High OG Chicago 280",
    price: 265_000,
    stock: 2,
  });
  const dunk = await addProduct(sellers[0], {
    name: "Nike Dunk Low Panda",
    brand: "Nike",
    category: "lifestyle",
    price: 129_000,
    stock: 12,
    description: "White and black leather, the everyday pair",
  });
  const samba = await addProduct(sellers[1], {
    name: "Adidas Samba OG",
    brand: "Adidas",
    category: "lifestyle",
    price: 139_000,
    stock: 8,
  });
  const runner = await addProduct(sellers[1], {
    name: "New Balance 990v6 Grey",
    brand: "New Balance",
    category: "running",
    price: 259_000,
    stock: 3,
    lowStockThreshold: 3,
  });

  // A seller's coupon taken from the database, and another's limited drop claimed first come, first served.
  const now = Date.now();
  const validFrom = new Date(now - 60_000).toISOString();
  const validUntil = new Date(now + 30 * 86_400_000).toISOString();
  const welcomeCoupon = await call("POST", "/coupons", {
    token: sellers[0].accessToken,
    expect: 201,
    body: {
      code: "WELCOME10",
      name: "10% off your first pair",
      type: "PERCENTAGE",
      discountValue: 10,
      maxDiscountAmount: 30_000,
      totalQuantity: 100,
      validFrom,
      validUntil,
    },
  });
  const dropCoupon = await call("POST", "/coupons", {
    token: sellers[1].accessToken,
    expect: 201,
    body: {
      code: "DROP20K",
      name: "20,000 won off, first 5 only",
      type: "FIXED",
      discountValue: 20_000,
      minOrderAmount: 100_000,
      totalQuantity: 5,
      validFrom,
      validUntil,
    },
  });
  const welcome = await call("POST", "/coupons/issue", {
    token: buyers[0].accessToken,
    expect: 201,
    body: { couponId: welcomeCoupon.id, userId: buyers[0].user.id },
  });
  const drop = await call("POST", "/coupons/issue/limited", {
    token: buyers[1].accessToken,
    expect: 201,
    body: { couponId: dropCoupon.id, userId: buyers[1].user.id },
  });

  const buyAndPay = async (buyer: (typeof buyers)[number], productId: string, userCouponId?: string) => {
    const order = await call("POST", "/orders", {
      token: buyer.accessToken,
      expect: 201,
      body: { userId: buyer.user.id, items: [{ productId, quantity: 1 }], ...(userCouponId ? { userCouponId } : {}) },
    });
    await call("POST", "/payments/process", { token: buyer.accessToken, body: { orderId: order.id } });
    return order.id as string;
  };
  const move = async (token: string, orderId: string, ...statuses: string[]) => {
    for (const status of statuses) await call("PATCH", `/orders/${orderId}/status`, { token, body: { status } });
  };

  // Shipped: Minji's Chicagos, 10% off.
  const shipped = await buyAndPay(buyers[0], jordan270, welcome.id);
  await move(sellers[0].accessToken, shipped, "PREPARING", "SHIPPED");
  // Paid, waiting for the seller: Jisoo's Sambas with the limited coupon.
  await buyAndPay(buyers[1], samba, drop.id);
  // Delivered and completed by its buyer: Hyun's 990s.
  const completed = await buyAndPay(buyers[2], runner);
  await move(sellers[1].accessToken, completed, "PREPARING", "SHIPPED", "DELIVERED");
  await move(buyers[2].accessToken, completed, "COMPLETED");
  // Refunded in full (and so cancelled): Hyun's Dunks.
  const refunded = await buyAndPay(buyers[2], dunk);
  await call("POST", "/refunds", {
    token: buyers[2].accessToken,
    expect: 201,
    body: { orderId: refunded, reason: "Ordered the wrong size" },
  });

  // Refunded in full after delivery: the pairs are with the buyer, so they wait in `awaitingReturn` until their
  // seller records them. Minji's Sambas are still awaited (POST /orders/{id}/returns as demo-seller-2 to try it);
  // Hyun's second Dunks came back resellable and are on sale again.
  const refundDelivered = async (
    buyer: (typeof buyers)[number],
    seller: (typeof sellers)[number],
    productId: string,
  ) => {
    const orderId = await buyAndPay(buyer, productId);
    await move(seller.accessToken, orderId, "PREPARING", "SHIPPED", "DELIVERED");
    await call("POST", "/refunds", {
      token: buyer.accessToken,
      expect: 201,
      body: { orderId, reason: "Too narrow; sending them back" },
    });
    return orderId;
  };
  await refundDelivered(buyers[0], sellers[1], samba);
  const returned = await refundDelivered(buyers[2], sellers[0], dunk);
  await call("POST", `/orders/${returned}/returns`, {
    token: sellers[0].accessToken,
    expect: 201,
    body: { items: [{ productId: dunk, quantity: 1, condition: "RESELLABLE" }] },
  });

  await ensureAdmin(DEMO_ADMIN_EMAIL, DEMO_PASSWORD);
  return true;
}

/** What the seed prints: who can log in, and how. */
export function describeDemoLogins(): string {
  return [
    `demo shop logins (password ${DEMO_PASSWORD} for every one):`,
    ...DEMO_ACCOUNTS.map((a) => `  ${a.role.padEnd(6)}  ${a.email.padEnd(26)}  ${a.note}`),
    "get a token: curl -s localhost:3000/api/v1/auth/login -H 'Content-Type: application/json' \\",
    `  -d '{"email":"${DEMO_ADMIN_EMAIL}","password":"${DEMO_PASSWORD}"}'`,
  ].join("\n");
}
