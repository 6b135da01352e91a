import { and, eq, isNull, lt, or } from "drizzle-orm";
import type {
  Claim,
  IdempotencyRecord,
  IdempotencyRepository,
  IdempotencyScope,
  StoredResponse,
} from "../../../domain/idempotency/ports";
import { idempotencyKeys } from "../schema";
import type { Transactions } from "../transactions";

const byId = (id: IdempotencyScope) =>
  and(
    eq(idempotencyKeys.scope, id.scope),
    eq(idempotencyKeys.method, id.method),
    eq(idempotencyKeys.path, id.path),
    eq(idempotencyKeys.key, id.key),
  );

const heldBy = (id: IdempotencyScope, claimToken: string) =>
  and(byId(id), eq(idempotencyKeys.claimToken, claimToken), isNull(idempotencyKeys.responseStatus));

export class DrizzleIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly tx: Transactions) {}

  async claim(id: IdempotencyScope, claim: Claim): Promise<boolean> {
    const fresh = {
      requestHash: claim.requestHash,
      claimToken: claim.claimToken,
      responseStatus: null,
      responseBody: null,
      responseHeaders: null,
      lockedUntil: claim.leaseUntil,
      createdAt: claim.now,
      expiresAt: claim.expiresAt,
    };
    // One statement decides the race: insert, or take over an expired key, or retry an abandoned
    // in-flight request (same body only: a different body must still get 422).
    const rows = await this.tx.current
      .insert(idempotencyKeys)
      .values({ ...id, ...fresh })
      .onConflictDoUpdate({
        target: [idempotencyKeys.scope, idempotencyKeys.method, idempotencyKeys.path, idempotencyKeys.key],
        set: fresh,
        setWhere: or(
          lt(idempotencyKeys.expiresAt, claim.now),
          and(
            isNull(idempotencyKeys.responseStatus),
            lt(idempotencyKeys.lockedUntil, claim.now),
            eq(idempotencyKeys.requestHash, claim.requestHash),
          ),
        ),
      })
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.tx.current.select().from(idempotencyKeys).where(byId(id));
    if (!row) return undefined;
    const response =
      row.responseStatus === null
        ? undefined
        : { status: row.responseStatus, body: row.responseBody ?? "", headers: row.responseHeaders ?? {} };
    return { requestHash: row.requestHash, response };
  }

  async complete(id: IdempotencyScope, claimToken: string, response: StoredResponse): Promise<boolean> {
    const rows = await this.tx.current
      .update(idempotencyKeys)
      .set({
        responseStatus: response.status,
        responseBody: response.body,
        responseHeaders: response.headers,
        lockedUntil: null,
      })
      .where(heldBy(id, claimToken))
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async release(id: IdempotencyScope, claimToken: string): Promise<void> {
    await this.tx.current.delete(idempotencyKeys).where(heldBy(id, claimToken));
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.tx.current
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, now))
      .returning({ key: idempotencyKeys.key });
    return rows.length;
  }
}
