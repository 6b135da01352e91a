import { sign, verify } from "hono/jwt";
import { LRUCache } from "lru-cache";
import { DomainError } from "../../domain/shared/errors";
import { UUID } from "../../domain/shared/ids";
import type { AccessTokenClaims, AccessTokenIssuer } from "../../domain/users/ports";
import { type Actor, ROLES, type Role } from "../../domain/users/user";

const ALGORITHM = "HS256";
const ISSUER = "kicks";
/** Verified tokens remembered, so a client's repeated requests skip the HMAC check (bounded memory). */
const VERIFIED_CACHE_SIZE = 10_000;

interface Verified {
  claims: AccessTokenClaims;
  expiresAtMs: number;
}

/**
 * Tokens are remembered by their SHA-256, never as they are: the cache holds no bearer credential a heap dump
 * could replay, and every key is 44 characters however long a token is sent. One SHA-256 of a few hundred bytes
 * is a fraction of the HMAC, base64 and JSON work of a verification.
 */
const tokenKey = (token: string) => Bun.SHA256.hash(token, "base64") as string;

/**
 * Short-lived HS256 bearer tokens carrying the user id (`sub`), role, the user's token version (`ver`) and an
 * id of their own (`jti`). Genuine is not enough: TokenStates says whether the role and version still hold.
 */
export class JwtAccessTokens implements AccessTokenIssuer {
  readonly #verified: LRUCache<string, Verified>;
  readonly #verifySignature: typeof verify;

  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
    options: {
      /** How many verified tokens are remembered (least recently used go first). */
      maxRemembered?: number;
      /** The signature check (tests count its calls). */
      verifySignature?: typeof verify;
    } = {},
  ) {
    this.#verified = new LRUCache({ max: options.maxRemembered ?? VERIFIED_CACHE_SIZE });
    this.#verifySignature = options.verifySignature ?? verify;
  }

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

  /**
   * Any defect (bad signature, expired, malformed, unknown role) is the same 401 to the client. A token verified
   * once is not verified again within its lifetime: what it says cannot change. Whether it still speaks for its
   * user (a logout, a password or role change) is TokenStates' question, asked on every request all the same.
   */
  async claims(token: string): Promise<AccessTokenClaims> {
    const key = tokenKey(token);
    const known = this.#verified.get(key);
    if (known) {
      if (known.expiresAtMs > Date.now()) return known.claims;
      this.#verified.delete(key);
    }
    try {
      const { iss, sub, role, exp, ver, jti } = await this.#verifySignature(token, this.secret, ALGORITHM);
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
      this.#verified.set(key, { claims, expiresAtMs: exp * 1000 });
      return claims;
    } catch {
      throw new DomainError("UNAUTHENTICATED", "The access token is invalid or expired");
    }
  }
}
