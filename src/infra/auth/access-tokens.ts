import { sign, verify } from "hono/jwt";
import { DomainError } from "../../domain/shared/errors";
import type { AccessTokenIssuer } from "../../domain/users/ports";
import { type Actor, ROLES, type Role } from "../../domain/users/user";

const ALGORITHM = "HS256";

/** Short-lived HS256 bearer tokens carrying the user id (`sub`) and role. */
export class JwtAccessTokens implements AccessTokenIssuer {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(actor: Actor): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await sign(
      { sub: actor.userId, role: actor.role, iat: now, exp: now + this.ttlSeconds },
      this.secret,
      ALGORITHM,
    );
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  /** Any defect (bad signature, expired, malformed, unknown role) is the same 401 to the client. */
  async verify(token: string): Promise<Actor> {
    try {
      const payload = await verify(token, this.secret, ALGORITHM);
      if (typeof payload.sub !== "string" || !ROLES.includes(payload.role as Role)) throw new Error("bad claims");
      return { userId: payload.sub, role: payload.role as Role };
    } catch {
      throw new DomainError("UNAUTHENTICATED", "The access token is invalid or expired");
    }
  }
}
