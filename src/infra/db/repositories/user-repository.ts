import { eq, sql } from "drizzle-orm";
import { DomainError } from "../../../domain/shared/errors";
import type { NewUser, ProfileChanges, TokenState, UserRepository } from "../../../domain/users/ports";
import type { UserRecord } from "../../../domain/users/user";
import { isUniqueViolation } from "../../dependency-errors";
import { users } from "../schema";
import type { Transactions } from "../transactions";

export class DrizzleUserRepository implements UserRepository {
  constructor(private readonly tx: Transactions) {}

  async insert(user: NewUser): Promise<UserRecord> {
    try {
      const [row] = await this.tx.current.insert(users).values(user).returning();
      return row as UserRecord;
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError("EMAIL_TAKEN", `${user.email} is already registered`);
      throw error;
    }
  }

  async insertIfEmailAbsent(user: NewUser): Promise<UserRecord | undefined> {
    const [row] = await this.tx.current.insert(users).values(user).onConflictDoNothing().returning();
    return row;
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const [row] = await this.tx.current.select().from(users).where(eq(users.id, id));
    return row;
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const [row] = await this.tx.current.select().from(users).where(eq(users.email, email));
    return row;
  }

  async update(id: string, changes: ProfileChanges): Promise<UserRecord | undefined> {
    const [row] = await this.tx.current
      .update(users)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(users.id, id))
      .returning();
    return row;
  }

  async findTokenState(id: string): Promise<TokenState | undefined> {
    const [row] = await this.tx.current
      .select({ role: users.role, tokenVersion: users.tokenVersion, keptTokenId: users.keptTokenId })
      .from(users)
      .where(eq(users.id, id));
    return row;
  }

  async revokeTokens(id: string): Promise<boolean> {
    const rows = await this.tx.current
      .update(users)
      .set({ tokenVersion: sql`${users.tokenVersion} + 1`, keptTokenId: null, updatedAt: sql`now()` })
      .where(eq(users.id, id))
      .returning({ id: users.id });
    return rows.length === 1;
  }

  async changePassword(id: string, passwordHash: string, keepTokenId: string): Promise<boolean> {
    const rows = await this.tx.current
      .update(users)
      .set({
        passwordHash,
        tokenVersion: sql`${users.tokenVersion} + 1`,
        keptTokenId: keepTokenId,
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, id))
      .returning({ id: users.id });
    return rows.length === 1;
  }
}
