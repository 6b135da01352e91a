import type { JwtAccessTokens } from "../../src/infra/auth/access-tokens";
import type { DatabaseHandle } from "../../src/infra/db/client";
import { balances, users } from "../../src/infra/db/schema";

// One argon2id hash for every cheap user: hashing is what makes sign-up slow, and these never log in.
const PASSWORD_HASH = await Bun.password.hash("cheap-user-password", { algorithm: "argon2id" });

export interface CheapUser {
  id: string;
  token: string;
}

/**
 * `count` buyers inserted in one statement, with access tokens from the app's own issuer: a drop test
 * needs thousands of distinct users, and signing each up would spend minutes in argon2.
 */
export async function cheapBuyers(database: DatabaseHandle, tokens: JwtAccessTokens, count: number) {
  const rows = Array.from({ length: count }, () => {
    const id = Bun.randomUUIDv7();
    return {
      id,
      email: `cheap-${id}@test.kicks`,
      passwordHash: PASSWORD_HASH,
      name: "Cheap buyer",
      role: "BUYER" as const,
    };
  });
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    await database.db.insert(users).values(chunk);
    // Every user has a balance (as sign-up opens one): orders and payments need it.
    await database.db.insert(balances).values(chunk.map(({ id }) => ({ userId: id })));
  }
  return Promise.all(
    rows.map(
      async ({ id }): Promise<CheapUser> => ({
        id,
        token: (await tokens.issue({ userId: id, role: "BUYER" })).accessToken,
      }),
    ),
  );
}
