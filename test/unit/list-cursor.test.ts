import { describe, expect, it } from "bun:test";
import { type CursorState, ListCursors } from "../../src/domain/catalogue/list-cursor";
import { DomainError } from "../../src/domain/shared/errors";

const cursors = new ListCursors("a-secret-that-is-long-enough-for-tests-1234");
const state: CursorState = {
  sort: "price_asc",
  filter: '["air",null,null,null,null,null]',
  position: { key: 189000, id: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11" },
  page: 3,
};

function refusal(attempt: () => unknown): DomainError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected the cursor to be refused");
}

describe("product list cursors", () => {
  it("round-trips the position and page for the same query", () => {
    const cursor = cursors.encode(state);
    expect(cursors.decode(cursor, { sort: state.sort, filter: state.filter })).toEqual(state);
  });

  it("is opaque: no JSON, no spaces, safe in a URL", () => {
    expect(cursors.encode(state)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it("refuses a cursor whose position was edited, as 400 on query.cursor", () => {
    const cursor = cursors.encode(state);
    const [, signature] = cursor.split(".");
    const forged = Buffer.from(JSON.stringify(["price_asc", state.filter, 1, state.position.id, 3])).toString(
      "base64url",
    );
    const error = refusal(() => cursors.decode(`${forged}.${signature}`, { sort: state.sort, filter: state.filter }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.errors?.[0]?.path).toBe("query.cursor");
  });

  it("refuses garbage, truncated cursors and cursors signed with another secret", () => {
    const expected = { sort: state.sort, filter: state.filter };
    const other = new ListCursors("another-secret-that-is-long-enough-000000").encode(state);
    for (const bad of [
      "x",
      "..",
      "not-a-cursor",
      cursors.encode(state).slice(0, -2),
      `${cursors.encode(state)}.x`,
      other,
    ]) {
      expect(refusal(() => cursors.decode(bad, expected)).code).toBe("VALIDATION_FAILED");
    }
  });

  it("refuses a cursor sent with another sort or other filters", () => {
    const cursor = cursors.encode(state);
    expect(refusal(() => cursors.decode(cursor, { sort: "newest", filter: state.filter })).code).toBe(
      "VALIDATION_FAILED",
    );
    expect(refusal(() => cursors.decode(cursor, { sort: state.sort, filter: "[]" })).code).toBe("VALIDATION_FAILED");
  });
});
