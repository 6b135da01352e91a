import { sign, verify } from "hono/jwt";
import { DomainError } from "../../domain/shared/errors";
import { UUID } from "../../domain/shared/ids";
import type { AccessTokenIssuer } from "../../domain/users/ports";
import { type Actor, ROLES, type Role } from "../../domain/users/user";

const ALGORITHM = "HS256";
const ISSUER = "kicks";
/** Verified tokens remembered, so a client's repeated requests skip the HMAC check (bounded memory). */
const VERIFIED_CACHE_SIZE = 10_000;

/** Short-lived HS256 bearer tokens carrying the user id (`sub`) and role. */
export class JwtAccessTokens implements AccessTokenIssuer {
  readonly #verified = new Map<string, { actor: Actor; expiresAtMs: number }>();

  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(actor: Actor): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await sign(
      { iss: ISSUER, sub: actor.userId, role: actor.role, iat: now, exp: now + this.ttlSeconds },
      this.secret,
      ALGORITHM,
    );
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  /** Any defect (bad signature, expired, malformed, unknown role) is the same 401 to the client. */
  async verify(token: string): Promise<Actor> {
    const known = this.#verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known.actor;
    try {
      const { iss, sub, role, exp } = await verify(token, this.secret, ALGORITHM);
      if (iss !== ISSUER || typeof sub !== "string" || !UUID.test(sub) || typeof exp !== "number") {
        throw new Error("bad claims");
      }
      if (!ROLES.includes(role as Role)) throw new Error("unknown role");
      const actor: Actor = { userId: sub, role: role as Role };
      this.#remember(token, actor, exp * 1000);
      return actor;
    } catch {
      throw new DomainError("UNAUTHENTICATED", "The access token is invalid or expired");
    }
  }

  #remember(token: string, actor: Actor, expiresAtMs: number): void {
    // Map keeps insertion order: dropping the first key evicts the oldest entry.
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, { actor, expiresAtMs });
  }
}
