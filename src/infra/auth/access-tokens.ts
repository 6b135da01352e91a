import { sign, verify } from "hono/jwt";
import { DomainError } from "../../domain/shared/errors";
import { UUID } from "../../domain/shared/ids";
import type { AccessTokenClaims, AccessTokenIssuer } from "../../domain/users/ports";
import { type Actor, ROLES, type Role } from "../../domain/users/user";

const ALGORITHM = "HS256";
const ISSUER = "kicks";
/** Verified tokens remembered, so a client's repeated requests skip the HMAC check (bounded memory). */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Short-lived HS256 bearer tokens carrying the user id (`sub`), role, the user's token version (`ver`) and an
 * id of their own (`jti`). Genuine is not enough: TokenStates says whether the role and version still hold.
 */
export class JwtAccessTokens implements AccessTokenIssuer {
  readonly #verified = new Map<string, { claims: AccessTokenClaims; expiresAtMs: number }>();

  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(actor: Actor & { tokenVersion?: number }): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await sign(
      {
        iss: ISSUER,
        sub: actor.userId,
        role: actor.role,
        ver: actor.tokenVersion ?? 0,
        jti: crypto.randomUUID(),
        iat: now,
        exp: now + this.ttlSeconds,
      },
      this.secret,
      ALGORITHM,
    );
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  /** The caller a genuine token names (see `claims`). */
  async verify(token: string): Promise<Actor> {
    const { userId, role } = await this.claims(token);
    return { userId, role };
  }

  /** Any defect (bad signature, expired, malformed, unknown role) is the same 401 to the client. */
  async claims(token: string): Promise<AccessTokenClaims> {
    const known = this.#verified.get(token);
    if (known && known.expiresAtMs > Date.now()) return known.claims;
    try {
      const { iss, sub, role, exp, ver, jti } = await verify(token, this.secret, ALGORITHM);
      if (iss !== ISSUER || typeof sub !== "string" || !UUID.test(sub) || typeof exp !== "number") {
        throw new Error("bad claims");
      }
      if (!ROLES.includes(role as Role)) throw new Error("unknown role");
      // Tokens from before versions existed carry neither: version 0, and an id nobody can keep.
      const tokenVersion = ver === undefined ? 0 : ver;
      if (!Number.isSafeInteger(tokenVersion) || (jti !== undefined && typeof jti !== "string")) {
        throw new Error("bad version or id");
      }
      const claims: AccessTokenClaims = {
        userId: sub,
        role: role as Role,
        tokenVersion: tokenVersion as number,
        tokenId: (jti as string | undefined) ?? "",
      };
      this.#remember(token, claims, exp * 1000);
      return claims;
    } catch {
      throw new DomainError("UNAUTHENTICATED", "The access token is invalid or expired");
    }
  }

  #remember(token: string, claims: AccessTokenClaims, expiresAtMs: number): void {
    // Map keeps insertion order: dropping the first key evicts the oldest entry.
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, { claims, expiresAtMs });
  }
}
