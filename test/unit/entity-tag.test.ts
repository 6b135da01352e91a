import { describe, expect, it } from "bun:test";
import { entityTag } from "../../src/routes/lib/public-read";

// Tags are remembered per body served lately (src/routes/lib/public-read.ts): a memo, never a different answer.
describe("entity tags", () => {
  it("name equal bodies alike and different bodies differently, however often and in whatever order", () => {
    const body = JSON.stringify({ items: [{ id: "a", price: 1 }] });
    const tag = entityTag(body);
    expect(tag).toMatch(/^W\/"[0-9a-z]+-[0-9a-z]+"$/);
    // The same text in another string, after enough other bodies to start the memo over.
    for (let i = 0; i < 600; i++) entityTag(`{"n":${i}}`);
    expect(entityTag(`${body.slice(0, 5)}${body.slice(5)}`)).toBe(tag);
    expect(entityTag(body.replace('"price":1', '"price":2'))).not.toBe(tag);
    expect(entityTag(`{"n":1}`)).toBe(entityTag(`{"n":${1}}`));
  });
});
