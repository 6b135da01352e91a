import { describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { KeyAnswerStep, KeyLookStep, OpeningStep } from "../../src/domain/shared/unit-of-work";
import type { NewUser } from "../../src/domain/users/ports";
import { type Database, rowsOf } from "../../src/infra/db/client";
import { DrizzlePaymentRepository } from "../../src/infra/db/repositories/payment-repository";
import { DrizzleProductRepository } from "../../src/infra/db/repositories/product-repository";
import { DrizzleUserRepository } from "../../src/infra/db/repositories/user-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";
import { insertSeller, newProduct } from "../support/products";
import { countingDatabase } from "../support/query-counter";

const database = openTestDatabase();

const transactions = new Transactions(database.db);
const users = new DrizzleUserRepository(transactions);

const newUser = (): NewUser => ({
  id: Bun.randomUUIDv7(),
  email: `tx-${crypto.randomUUID()}@test.kicks`,
  passwordHash: "not-a-real-hash",
  name: "Transaction Tester",
  role: "BUYER",
  bio: null,
  businessRegistrationNumber: null,
  adminCode: null,
});

const exists = async (user: NewUser) => (await users.findById(user.id)) !== undefined;

/** The isolation level of the transaction `db` runs in; the two drivers shape raw results differently. */
async function isolationLevel(db: Database): Promise<string | undefined> {
  const result = (await db.execute(sql`select current_setting('transaction_isolation') as level`)) as unknown;
  return rowsOf<{ level: string }>(result)[0]?.level;
}

describe("Transactions", () => {
  it("uses the root database outside any transaction", () => {
    expect(transactions.current).toBe(database.db);
  });

  it("exposes the open transaction as current inside it, and the root database again after it", async () => {
    await transactions.withTransaction(async (tx) => {
      expect(transactions.current).toBe(tx);
      expect(transactions.current).not.toBe(database.db);
    });
    expect(transactions.current).toBe(database.db);
  });

  it("commits what a transaction inserted", async () => {
    const user = newUser();
    await transactions.withTransaction(() => users.insert(user));
    expect(await users.findById(user.id)).toMatchObject({ id: user.id, email: user.email, role: "BUYER" });
  });

  it("says whether the open transaction has written anything yet, a rolled-back savepoint's write included", async () => {
    expect(await transactions.hasWritten()).toBe(false);
    await transactions.withTransaction(async () => {
      await users.findById(Bun.randomUUIDv7());
      expect(await transactions.hasWritten()).toBe(false);
      await transactions
        .withTransaction(async () => {
          await users.insert(newUser());
          throw new Error("undone");
        })
        .catch(() => {});
      expect(await transactions.hasWritten()).toBe(true);
    });
    await transactions.withTransaction(async () => {
      await users.insert(newUser());
      expect(await transactions.hasWritten()).toBe(true);
    });
  });

  it("says nothing was written when every statement ran in savepoints that rolled back", async () => {
    await transactions.withTransaction(async () => {
      await transactions
        .withTransaction(async () => {
          await users.insert(newUser());
          throw new Error("undone");
        })
        .catch(() => {});
      expect(await transactions.hasWritten()).toBe(false);
      await transactions.withTransaction(() => users.findById(Bun.randomUUIDv7()));
      expect(await transactions.hasWritten()).toBe(true);
    });
  });

  it("returns what the work returned", async () => {
    const user = newUser();
    const inserted = await transactions.withTransaction(() => users.insert(user));
    expect(inserted.id).toBe(user.id);
  });

  it("runs a nested call inside the outer transaction, seeing its uncommitted writes", async () => {
    const user = newUser();
    await transactions.withTransaction(async (outer) => {
      await users.insert(user);
      await transactions.withTransaction(async (inner) => {
        expect(inner).not.toBe(outer);
        expect(transactions.current).toBe(inner);
        expect(await users.findById(user.id)).toBeDefined();
      });
      expect(transactions.current).toBe(outer);
    });
    expect(await exists(user)).toBe(true);
  });

  // On postgres.js a level's drizzle transaction is built only when asked for (statements built once run on the
  // level's connection without it): a work that declares no parameter but reads one all the same still gets it.
  it("gives work that declares no parameter a working transaction if it reads one all the same", async () => {
    const user = newUser();
    const rest = async (...args: Database[]) => {
      await users.insert(user);
      expect(await isolationLevel(args[0] as Database)).toBe("serializable");
      expect(transactions.current).toBe(transactions.current);
      throw new Error("roll back");
    };
    await expect(transactions.withTransaction(rest, "serializable")).rejects.toThrow("roll back");
    expect(await exists(user)).toBe(false);
  });

  it("undoes only a nested call's writes when it fails and the caller carries on", async () => {
    const [outerUser, innerUser, afterUser] = [newUser(), newUser(), newUser()];
    await transactions.withTransaction(async () => {
      await users.insert(outerUser);
      await transactions
        .withTransaction(async () => {
          await users.insert(innerUser);
          throw new Error("coupon no longer valid");
        })
        .catch(() => {});
      await users.insert(afterUser);
    });
    expect(await exists(outerUser)).toBe(true);
    expect(await exists(innerUser)).toBe(false);
    expect(await exists(afterUser)).toBe(true);
  });

  it("keeps the outer transaction usable after a nested call hit a database error", async () => {
    const [first, later] = [newUser(), newUser()];
    await transactions.withTransaction(async () => {
      await users.insert(first);
      // A unique violation aborts a plain transaction; inside a savepoint only the savepoint is lost.
      const refused = await transactions
        .withTransaction(() => users.insert({ ...newUser(), email: first.email }))
        .then(
          () => undefined,
          (e: { code?: string }) => e.code,
        );
      expect(refused).toBe("EMAIL_TAKEN");
      await users.insert(later);
    });
    expect(await exists(first)).toBe(true);
    expect(await exists(later)).toBe(true);
  });

  it("rolls back a nested call's insert when the outer transaction throws afterwards", async () => {
    const [outerUser, innerUser] = [newUser(), newUser()];
    const attempt = transactions.withTransaction(async () => {
      await users.insert(outerUser);
      await transactions.withTransaction(() => users.insert(innerUser));
      throw new Error("payment failed after the stock was reserved");
    });
    await expect(attempt).rejects.toThrow("payment failed after the stock was reserved");
    expect(await exists(outerUser)).toBe(false);
    expect(await exists(innerUser)).toBe(false);
  });

  it("rolls back the outer transaction's insert when a nested call throws", async () => {
    const [outerUser, innerUser] = [newUser(), newUser()];
    const attempt = transactions.withTransaction(async () => {
      await users.insert(outerUser);
      await transactions.withTransaction(async () => {
        await users.insert(innerUser);
        throw new Error("outbox write failed");
      });
    });
    await expect(attempt).rejects.toThrow("outbox write failed");
    expect(await exists(outerUser)).toBe(false);
    expect(await exists(innerUser)).toBe(false);
  });

  it("rolls back the whole transaction when a repository refuses a duplicate email", async () => {
    const [first, duplicate] = [newUser(), newUser()];
    const attempt = transactions.withTransaction(async () => {
      await users.insert(first);
      await users.insert({ ...duplicate, email: first.email });
    });
    await expect(attempt).rejects.toMatchObject({ code: "EMAIL_TAKEN" });
    expect(await exists(first)).toBe(false);
  });

  it("keeps two sequential transactions independent", async () => {
    const [committed, rolledBack] = [newUser(), newUser()];
    const first = await transactions.withTransaction(async (tx) => {
      await users.insert(committed);
      return tx;
    });
    const attempt = transactions.withTransaction(async (tx) => {
      expect(tx).not.toBe(first);
      await users.insert(rolledBack);
      throw new Error("second transaction fails");
    });
    await expect(attempt).rejects.toThrow("second transaction fails");
    expect(await exists(committed)).toBe(true);
    expect(await exists(rolledBack)).toBe(false);
  });

  it("does not let transactions started side by side join each other", async () => {
    const [committed, rolledBack] = [newUser(), newUser()];
    const opened: Database[] = [];
    const [success, failure] = await Promise.allSettled([
      transactions.withTransaction(async (tx) => {
        opened.push(tx);
        await users.insert(committed);
      }),
      transactions.withTransaction(async (tx) => {
        opened.push(tx);
        await users.insert(rolledBack);
        throw new Error("one of two side by side fails");
      }),
    ]);
    expect(success.status).toBe("fulfilled");
    expect(failure).toMatchObject({ status: "rejected", reason: new Error("one of two side by side fails") });
    expect(opened).toHaveLength(2);
    expect(opened[0]).not.toBe(opened[1] as Database);
    expect(await exists(committed)).toBe(true);
    expect(await exists(rolledBack)).toBe(false);
  });

  it("opens a transaction with the requested isolation level", async () => {
    expect(await transactions.withTransaction((tx) => isolationLevel(tx), "serializable")).toBe("serializable");
    expect(await transactions.withTransaction((tx) => isolationLevel(tx), "repeatable read")).toBe("repeatable read");
    expect(await transactions.withTransaction((tx) => isolationLevel(tx))).toBe("read committed");
  });

  describe("on sessions pinned to read committed", () => {
    // The handle pins the level when each session connects; Transactions then skips SET TRANSACTION for it.
    const pinned = database.sessionIsolation;
    const counting = countingDatabase(database);
    const countedTransactions = new Transactions(counting.database.db, pinned);
    const statementsOf = (level?: "read committed" | "serializable") =>
      counting.count(() => countedTransactions.withTransaction((tx) => isolationLevel(tx), level));

    it.skipIf(database.kind !== "postgres")("pins read committed on every pooled session", async () => {
      expect(pinned).toBe("read committed");
      const rows = await Promise.all(
        Array.from({ length: 5 }, async () =>
          rowsOf<{ level: string }>(
            await database.db.execute(sql`select current_setting('default_transaction_isolation') as level`),
          ),
        ),
      );
      expect(rows.map((r) => r[0]?.level)).toEqual(Array(5).fill("read committed"));
    });

    it.skipIf(database.kind !== "postgres")(
      "opens a read-committed transaction without a SET TRANSACTION, and still sets a stricter level",
      async () => {
        const readCommitted = await statementsOf();
        expect(readCommitted.result).toBe("read committed");
        expect(readCommitted.statements).toBe(1);
        const serializable = await statementsOf("serializable");
        expect(serializable.result).toBe("serializable");
        expect(serializable.statements).toBe(2);
      },
    );
  });

  it("keeps the isolation level of the outer transaction in a nested call", async () => {
    const nested = await transactions.withTransaction(
      () => transactions.withTransaction((tx) => isolationLevel(tx), "read committed"),
      "serializable",
    );
    expect(nested).toBe("serializable");
  });

  it("refuses a nested call that needs a stricter isolation level than the transaction it is in", async () => {
    const attempt = transactions.withTransaction(() =>
      transactions.withTransaction(async () => "never runs", "serializable"),
    );
    await expect(attempt).rejects.toThrow("cannot run serializable work inside a read committed transaction");
  });
});

describe.skipIf(!globalThis.kicksTest.services.databaseUrl)("pooled PostgreSQL sessions", () => {
  it("carry time limits, so no statement, lock wait or open transaction can hang forever", async () => {
    const rows = rowsOf<{ statement: string; lock: string; idle: string; client: string }>(
      await transactions.current.execute(
        sql`select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
          current_setting('idle_in_transaction_session_timeout') as idle,
          current_setting('client_connection_check_interval') as client`,
      ),
    );
    // The client looked at every second: a statement sent on its own (it commits by itself) whose client died
    // while it waited for a lock is ended, not run on to commit (test/e2e/idempotency-crash.test.ts).
    expect(rows[0]).toEqual({ statement: "30s", lock: "10s", idle: "1min", client: "1s" });
  });
});

describe("Transactions.afterCommit", () => {
  it("runs a hook once the outermost transaction has committed, before withTransaction returns", async () => {
    const user = newUser();
    const seen: boolean[] = [];
    await transactions.withTransaction(async () => {
      await users.insert(user);
      await transactions.withTransaction(async () => {
        transactions.afterCommit(async () => {
          // Another connection sees the row: the hook runs after the commit, not before it.
          seen.push((await new DrizzleUserRepository(new Transactions(database.db)).findById(user.id)) !== undefined);
        });
      });
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([true]);
  });

  it("never runs the hooks of a transaction that rolled back", async () => {
    let ran = false;
    const failure = transactions.withTransaction(async () => {
      transactions.afterCommit(() => {
        ran = true;
      });
      throw new Error("undo");
    });
    await expect(failure).rejects.toThrow("undo");
    expect(ran).toBe(false);
  });

  it("drops the hooks of a failed savepoint but keeps those of the transaction around it", async () => {
    const ran: string[] = [];
    await transactions.withTransaction(async () => {
      transactions.afterCommit(() => void ran.push("outer"));
      await transactions
        .withTransaction(async () => {
          transactions.afterCommit(() => void ran.push("undone savepoint"));
          throw new Error("nested failure");
        })
        .catch(() => {});
      await transactions.withTransaction(async () => {
        transactions.afterCommit(() => void ran.push("kept savepoint"));
      });
    });
    expect(ran).toEqual(["outer", "kept savepoint"]);
  });

  it("runs a hook at once outside any transaction", async () => {
    let ran = false;
    await transactions.afterCommit(() => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});

describe("compensations registered with onRollback", () => {
  /** A side effect outside the database (a Redis claim, say) and a record of its undoing. */
  function sideEffects() {
    const undone: string[] = [];
    return {
      undone,
      register: (name: string) =>
        transactions.onRollback(async () => {
          undone.push(name);
        }),
    };
  }

  it("run, newest first, when the transaction they were registered in rolls back", async () => {
    const { undone, register } = sideEffects();
    const attempt = transactions.withTransaction(async () => {
      register("claim");
      register("notification");
      throw new Error("the order failed");
    });
    await expect(attempt).rejects.toThrow("the order failed");
    expect(undone).toEqual(["notification", "claim"]);
  });

  it("are dropped when the transaction commits", async () => {
    const { undone, register } = sideEffects();
    await transactions.withTransaction(async () => register("claim"));
    expect(undone).toEqual([]);
  });

  it("follow a released savepoint into the outer transaction and run if that rolls back later", async () => {
    const { undone, register } = sideEffects();
    const attempt = transactions.withTransaction(async () => {
      await transactions.withTransaction(async () => register("claim"));
      expect(undone).toEqual([]);
      throw new Error("storing the response failed");
    });
    await expect(attempt).rejects.toThrow("storing the response failed");
    expect(undone).toEqual(["claim"]);
  });

  it("run when only their savepoint rolls back, and not again when the outer transaction commits", async () => {
    const { undone, register } = sideEffects();
    await transactions.withTransaction(async () => {
      await transactions
        .withTransaction(async () => {
          register("claim");
          throw new Error("coupon refused");
        })
        .catch(() => {});
      register("kept");
    });
    expect(undone).toEqual(["claim"]);
  });

  it("all run even when one of them fails, and the original error is what the caller sees", async () => {
    const { undone, register } = sideEffects();
    const attempt = transactions.withTransaction(async () => {
      register("first");
      transactions.onRollback(async () => {
        throw new Error("Redis is down too");
      });
      throw new Error("the database refused");
    });
    await expect(attempt).rejects.toThrow("the database refused");
    expect(undone).toEqual(["first"]);
  });

  it("are dropped at once outside any transaction: nothing can roll back", async () => {
    const { undone, register } = sideEffects();
    register("claim");
    await transactions
      .withTransaction(async () => {
        throw new Error("a later, unrelated transaction");
      })
      .catch(() => {});
    expect(undone).toEqual([]);
  });
});

describe("inTransaction", () => {
  it("tells whether work runs inside a transaction or savepoint", async () => {
    expect(transactions.inTransaction()).toBe(false);
    await transactions.withTransaction(async () => {
      expect(transactions.inTransaction()).toBe(true);
      await transactions.withTransaction(async () => expect(transactions.inTransaction()).toBe(true));
    });
    expect(transactions.inTransaction()).toBe(false);
  });
});

describe("withTransactionTaking", () => {
  const step = () => {
    const ran: string[] = [];
    return { ran, opening: { committed: false, run: async () => void ran.push("run") } };
  };

  it("hands the opening step to the work instead of running it, and counts it committed once that commits", async () => {
    const { ran, opening } = step();
    await transactions.withOpening(opening, async () => {
      const handed = await transactions.withTransactionTaking(async (taken) => taken);
      expect(handed).toBe(opening);
      expect(opening.committed).toBe(true);
      // Done once: neither handed again nor run by the next transaction.
      expect(await transactions.withTransactionTaking(async (taken) => taken)).toBeUndefined();
      await transactions.withTransaction(async () => {});
    });
    expect(ran).toEqual([]);
  });

  it("leaves the step to the next transaction when the one it was handed to rolls back", async () => {
    const { ran, opening } = step();
    await transactions.withOpening(opening, async () => {
      await transactions
        .withTransactionTaking(async () => {
          throw new Error("refused");
        })
        .catch(() => {});
      expect(opening.committed).toBe(false);
      await transactions.withTransaction(async () => {});
    });
    expect(ran).toEqual(["run"]);
    expect(opening.committed).toBe(true);
  });

  // As withTransaction marks a step it began with: committed once the COMMIT is done, before the hooks run. A hook
  // that throws must not leave the step looking uncommitted (the next transaction would claim the key again).
  it("counts the step committed once the transaction committed, even when an after-commit hook then fails", async () => {
    const { ran, opening } = step();
    await transactions.withOpening(opening, async () => {
      const taking = transactions.withTransactionTaking(async () => {
        transactions.afterCommit(() => {
          throw new Error("a hook failed after the commit");
        });
      });
      await expect(taking).rejects.toThrow("a hook failed after the commit");
      expect(opening.committed).toBe(true);
      await transactions.withTransaction(async () => {});
    });
    expect(ran).toEqual([]);
  });

  it("hands nothing without an opening step, or inside a transaction already open", async () => {
    expect(await transactions.withTransactionTaking(async (taken) => taken)).toBeUndefined();
    const { ran, opening } = step();
    await transactions.withOpening(opening, () =>
      transactions.withTransaction(async () => {
        expect(await transactions.withTransactionTaking(async (taken) => taken)).toBeUndefined();
      }),
    );
    expect(ran).toEqual(["run"]);
  });
});

describe("withKeyLook", () => {
  const products = new DrizzleProductRepository(transactions);
  const look = () => {
    const seen: string[] = [];
    const step: KeyLookStep = {
      id: { scope: crypto.randomUUID(), method: "POST", path: "/api/v1/orders", key: crypto.randomUUID() },
      settled: false,
      run: async () => {
        seen.push("run alone");
        step.settled = true;
      },
      settle: ({ free, record }) => {
        seen.push(`taken in: free ${free}, record ${record !== undefined}`);
        step.settled = true;
      },
    };
    return { seen, step };
  };
  const aProduct = async () => (await products.insert(newProduct(await insertSeller(database.db)))).id;

  it("is taken in by the products' read, once, which still returns the products", async () => {
    const id = await aProduct();
    const { seen, step } = look();
    await transactions.withTransaction(() =>
      transactions.withKeyLook(step, async () => {
        expect((await products.findManyAt([id])).products.map((p) => p.id)).toEqual([id]);
        expect((await products.findManyAt([id, crypto.randomUUID()])).products).toHaveLength(1);
        // A read of products that match none still makes the look (one row, the look's).
        expect((await products.findManyAt([crypto.randomUUID()])).products).toEqual([]);
      }),
    );
    expect(seen).toEqual(["taken in: free true, record false"]);
  });

  it("is made alone before a statement that cannot carry it, and before a savepoint", async () => {
    const id = await aProduct();
    for (const first of [() => products.find(id), () => transactions.withTransaction(async () => {})]) {
      const { seen, step } = look();
      await transactions.withTransaction(() =>
        transactions.withKeyLook(step, async () => {
          await first();
          await products.findManyAt([id]);
        }),
      );
      expect(seen).toEqual(["run alone"]);
    }
  });

  it("refuses the builder's statements while it is still to be made (they could not be preceded by it)", async () => {
    const { step } = look();
    await transactions.withTransaction(() =>
      transactions.withKeyLook(step, async () => {
        expect(() => transactions.current).toThrow("a keyed transaction's first statement");
      }),
    );
  });

  it("stops the read when the look refuses: its error, not the products", async () => {
    const id = await aProduct();
    const { step } = look();
    step.settle = () => {
      throw new Error("the key is held");
    };
    await transactions.withTransaction(() =>
      transactions.withKeyLook(step, async () => {
        await expect(products.findManyAt([id])).rejects.toThrow("the key is held");
      }),
    );
  });

  it("is only for a transaction's own level", async () => {
    const { step } = look();
    await expect(transactions.withKeyLook(step, async () => {})).rejects.toThrow("withKeyLook");
    await transactions.withTransaction(() =>
      transactions.withTransaction(async () => {
        await expect(transactions.withKeyLook(step, async () => {})).rejects.toThrow("withKeyLook");
      }),
    );
  });
});

// A payment's key is looked at outside any transaction (its work commits step by step): the look is the key's
// committed row, taken in by the payment's first read (docs/checkout-performance.md).
describe("withKeyLookAhead", () => {
  const payments = new DrizzlePaymentRepository(transactions);
  const look = () => {
    const seen: string[] = [];
    const id = {
      scope: crypto.randomUUID(),
      method: "POST",
      path: "/api/v1/payments/process",
      key: crypto.randomUUID(),
    };
    const step: KeyLookStep = {
      id,
      settled: false,
      run: async () => {
        seen.push("run alone");
        step.settled = true;
      },
      settle: ({ free, record, answeredByRecord }) => {
        seen.push(`taken in: free ${free}, record ${record !== undefined}, answered by record ${answeredByRecord}`);
        step.settled = true;
      },
    };
    return { seen, step, request: { requestedBy: id.scope, idempotencyKey: id.key } };
  };

  it("is taken in by a keyed payment's first read, once, outside any transaction", async () => {
    const { seen, step, request } = look();
    await transactions.withKeyLookAhead(step, async () => {
      expect(await payments.findOrderAndRequest(crypto.randomUUID(), request)).toEqual({
        order: undefined,
        earlier: undefined,
      });
      await payments.findOrderAndRequest(crypto.randomUUID(), request);
    });
    expect(seen).toEqual(["taken in: free true, record false, answered by record false"]);
  });

  it("is made alone before a statement that cannot carry it, and before a transaction", async () => {
    for (const first of [
      () => payments.find(crypto.randomUUID()),
      () => payments.findOrderAndRequest(crypto.randomUUID()),
      () => transactions.withTransaction(async () => {}),
    ]) {
      const { seen, step, request } = look();
      await transactions.withKeyLookAhead(step, async () => {
        await first();
        await payments.findOrderAndRequest(crypto.randomUUID(), request);
      });
      expect(seen).toEqual(["run alone"]);
    }
  });

  it("refuses the builder's statements while it is still to be made (they could not be preceded by it)", async () => {
    const { step, request } = look();
    await transactions.withKeyLookAhead(step, async () => {
      expect(() => transactions.current).toThrow("a keyed request's first statement");
      await payments.findOrderAndRequest(crypto.randomUUID(), request);
      expect(transactions.current).toBe(database.db);
    });
  });

  it("stops the read when the look refuses: its error, not the order", async () => {
    const { step, request } = look();
    step.settle = () => {
      throw new Error("the key is answered");
    };
    await transactions.withKeyLookAhead(step, async () => {
      await expect(payments.findOrderAndRequest(crypto.randomUUID(), request)).rejects.toThrow("the key is answered");
    });
  });

  it("is only outside a transaction", async () => {
    const { step } = look();
    await transactions.withTransaction(async () => {
      await expect(transactions.withKeyLookAhead(step, async () => {})).rejects.toThrow("withKeyLookAhead");
    });
  });
});

describe("withKeyAnswer", () => {
  const answerStep = () => {
    const rendered: unknown[] = [];
    const step: KeyAnswerStep = {
      id: { scope: crypto.randomUUID(), method: "POST", path: "/api/v1/orders", key: crypto.randomUUID() },
    };
    const render = (result: unknown) => {
      rendered.push(result);
      step.ready = {
        response: { status: 201, body: JSON.stringify(result), headers: {} },
        claim: { requestHash: "h", claimToken: "t", now: new Date(), expiresAt: new Date() },
      };
    };
    return { step, render, rendered };
  };

  it("renders the result announced at the transaction's level, for the write that takes it until it stored it", async () => {
    const { step, render, rendered } = answerStep();
    await transactions.withTransaction(() =>
      transactions.withKeyAnswer(step, render, async () => {
        expect(transactions.takeKeyAnswer()).toBeUndefined();
        transactions.answerAhead({ try: 1 });
        transactions.answerAhead({ try: 2 });
        expect(transactions.takeKeyAnswer()).toBe(step);
        expect(step.ready?.response.body).toBe('{"try":2}');
        step.stored = true;
        expect(transactions.takeKeyAnswer()).toBeUndefined();
        transactions.answerAhead({ try: 3 });
      }),
    );
    expect(rendered).toEqual([{ try: 1 }, { try: 2 }]);
  });

  it("is neither rendered nor taken inside a savepoint, nor outside withKeyAnswer", async () => {
    const { step, render, rendered } = answerStep();
    transactions.answerAhead({ outside: true });
    await transactions.withTransaction(() =>
      transactions.withKeyAnswer(step, render, () =>
        transactions.withTransaction(async () => {
          transactions.answerAhead({ nested: true });
          expect(transactions.takeKeyAnswer()).toBeUndefined();
        }),
      ),
    );
    expect(rendered).toEqual([]);
    await expect(transactions.withKeyAnswer(step, render, async () => {})).rejects.toThrow("withKeyAnswer");
  });
});

describe("withStatement and withStatementTaking", () => {
  const step = (claim?: { settled: boolean[] }) => {
    const ran: string[] = [];
    const opening: OpeningStep = { committed: false, run: async () => void ran.push("run") };
    if (claim) {
      opening.claim = {
        terms: () => ({ id: { scope: "s", method: "POST", path: "/p", key: "k" }, claim: {} as never }),
        settle: (claimed) => {
          claim.settled.push(claimed);
          if (!claimed) throw new Error("409: the key is held");
        },
      };
    }
    return { ran, opening };
  };

  it("sends the statement on its own when nothing must commit with it", async () => {
    const inside = await transactions.withStatement(async () => transactions.inTransaction());
    expect(inside).toBe(false);
    // Inside an open transaction, it joins it (a savepoint of it).
    await transactions.withTransaction(async () => {
      expect(await transactions.withStatement(async () => transactions.inTransaction())).toBe(true);
    });
  });

  it("runs it in a transaction that begins with an opening step still to commit", async () => {
    const { ran, opening } = step();
    await transactions.withOpening(opening, async () => {
      expect(await transactions.withStatement(async () => transactions.inTransaction())).toBe(true);
      expect(opening.committed).toBe(true);
      // The step committed: the next statement goes on its own.
      expect(await transactions.withStatement(async () => transactions.inTransaction())).toBe(false);
    });
    expect(ran).toEqual(["run"]);
  });

  it("hands a step that offers a claim to a statement sent on its own, committed once it claimed", async () => {
    const claim = { settled: [] as boolean[] };
    const { ran, opening } = step(claim);
    await transactions.withOpening(opening, async () => {
      const taking = transactions.withStatementTaking(async (taken) => {
        expect(transactions.inTransaction()).toBe(false);
        expect(opening.committed).toBe(false);
        taken?.claim?.settle(true);
        // The statement committed the claim: a failure after it leaves the step committed (its key to release).
        throw new Error("refused after the claim");
      });
      await expect(taking).rejects.toThrow("refused after the claim");
      expect(opening.committed).toBe(true);
      expect(await transactions.withStatementTaking(async (taken) => taken)).toBeUndefined();
    });
    expect(claim.settled).toEqual([true]);
    expect(ran).toEqual([]);
  });

  it("leaves a step whose claim the statement could not make uncommitted", async () => {
    const claim = { settled: [] as boolean[] };
    const { ran, opening } = step(claim);
    await transactions.withOpening(opening, async () => {
      const taking = transactions.withStatementTaking(async (taken) => taken?.claim?.settle(false));
      await expect(taking).rejects.toThrow("409");
      expect(opening.committed).toBe(false);
    });
    expect(ran).toEqual([]);
  });

  it("marks a step in doubt when the statement that carried its claim failed before saying whether it claimed", async () => {
    const claim = { settled: [] as boolean[] };
    const { ran, opening } = step(claim);
    await transactions.withOpening(opening, async () => {
      // Sent on its own, it may have committed before its answer was lost: neither committed nor known not to be.
      const taking = transactions.withStatementTaking(async () => {
        throw Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" });
      });
      await expect(taking).rejects.toThrow("CONNECTION_CLOSED");
      expect(opening.committed).toBe(false);
      expect(opening.inDoubt).toBe(true);
    });
    expect(claim.settled).toEqual([]);
    expect(ran).toEqual([]);
  });

  it("runs a step that offers no claim in a transaction with the statement, as withTransactionTaking", async () => {
    const { ran, opening } = step();
    await transactions.withOpening(opening, async () => {
      const handed = await transactions.withStatementTaking(async (taken) => {
        expect(transactions.inTransaction()).toBe(true);
        return taken;
      });
      expect(handed).toBe(opening);
      expect(opening.committed).toBe(true);
    });
    expect(ran).toEqual([]);
  });
});
