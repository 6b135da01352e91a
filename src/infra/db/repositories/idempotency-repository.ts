import { and, eq, isNull, lt, or } from "drizzle-orm";
import type {
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

export class DrizzleIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly tx: Transactions) {}

  async claim(id: IdempotencyScope, requestHash: string, now: Date, leaseUntil: Date, expiresAt: Date) {
    const fresh = {
      requestHash,
      responseStatus: null,
      responseBody: null,
      responseHeaders: null,
      lockedUntil: leaseUntil,
    };
    // One statement decides the race: insert, or take over an expired key or an abandoned in-flight one.
    const rows = await this.tx.current
      .insert(idempotencyKeys)
      .values({ ...id, ...fresh, createdAt: now, expiresAt })
      .onConflictDoUpdate({
        target: [idempotencyKeys.scope, idempotencyKeys.method, idempotencyKeys.path, idempotencyKeys.key],
        set: { ...fresh, createdAt: now, expiresAt },
        setWhere: or(
          lt(idempotencyKeys.expiresAt, now),
          and(isNull(idempotencyKeys.responseStatus), lt(idempotencyKeys.lockedUntil, now)),
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

  async complete(id: IdempotencyScope, response: StoredResponse): Promise<void> {
    await this.tx.current
      .update(idempotencyKeys)
      .set({
        responseStatus: response.status,
        responseBody: response.body,
        responseHeaders: response.headers,
        lockedUntil: null,
      })
      .where(byId(id));
  }

  async release(id: IdempotencyScope): Promise<void> {
    await this.tx.current.delete(idempotencyKeys).where(and(byId(id), isNull(idempotencyKeys.responseStatus)));
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.tx.current
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, now))
      .returning({ key: idempotencyKeys.key });
    return rows.length;
  }
}
