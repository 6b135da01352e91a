import type { PasswordHasher } from "../../domain/users/ports";

/** argon2id through Bun's built-in implementation (runs off the JS thread). */
export const argon2Passwords: PasswordHasher = {
  hash: (password) => Bun.password.hash(password, { algorithm: "argon2id" }),
  verify: (password, hash) => Bun.password.verify(password, hash),
};
