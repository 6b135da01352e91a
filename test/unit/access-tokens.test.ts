import { describe, expect, it } from "bun:test";
import { JwtAccessTokens } from "../../src/infra/auth/access-tokens";
import { domainErrorOf } from "../support/domain-error";

const SECRET = "unit-test-secret-that-is-long-enough-000";
const actor = { userId: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11", role: "SELLER" as const };

const rejects = async (promise: Promise<unknown>) => {
  expect((await domainErrorOf(promise)).code).toBe("UNAUTHENTICATED");
};

describe("JwtAccessTokens", () => {
  it("verifies what it issued, again and again", async () => {
    const tokens = new JwtAccessTokens(SECRET, 3600);
    const { accessToken, expiresIn } = await tokens.issue(actor);
    expect(expiresIn).toBe(3600);
    expect(await tokens.verify(accessToken)).toEqual(actor);
    expect(await tokens.verify(accessToken)).toEqual(actor);
  });

  it("refuses a token signed with another secret", async () => {
    const { accessToken } = await new JwtAccessTokens(`${SECRET}-other`, 3600).issue(actor);
    await rejects(new JwtAccessTokens(SECRET, 3600).verify(accessToken));
  });

  it("refuses a tampered token even after the genuine one was verified", async () => {
    const tokens = new JwtAccessTokens(SECRET, 3600);
    const { accessToken } = await tokens.issue(actor);
    await tokens.verify(accessToken);
    const [header, payload, signature] = accessToken.split(".");
    const forged = JSON.parse(Buffer.from(payload as string, "base64url").toString());
    forged.role = "ADMIN";
    await rejects(tokens.verify(`${header}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${signature}`));
  });

  it("refuses a remembered token once it has expired", async () => {
    const tokens = new JwtAccessTokens(SECRET, 1);
    const { accessToken } = await tokens.issue(actor);
    expect(await tokens.verify(accessToken)).toEqual(actor);
    await Bun.sleep(2100);
    await rejects(tokens.verify(accessToken));
  });

  it("refuses the none algorithm", async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode({ sub: actor.userId, role: "ADMIN", exp: 4102444800 })}.`;
    await rejects(new JwtAccessTokens(SECRET, 3600).verify(unsigned));
  });
});

describe("JwtAccessTokens claims", () => {
  const sign = async (claims: Record<string, unknown>) => (await import("hono/jwt")).sign(claims, SECRET, "HS256");
  const exp = Math.floor(Date.now() / 1000) + 600;
  const valid = { iss: "kicks", sub: actor.userId, role: "BUYER", exp };

  it("accepts a token with every claim it expects", async () => {
    expect(await new JwtAccessTokens(SECRET, 3600).verify(await sign(valid))).toEqual({
      userId: actor.userId,
      role: "BUYER",
    });
  });

  it.each([
    ["no expiry", { ...valid, exp: undefined }],
    ["another issuer", { ...valid, iss: "someone-else" }],
    ["a subject that is not a user id", { ...valid, sub: "../../etc/passwd" }],
    ["an unknown role", { ...valid, role: "ROOT" }],
  ])("refuses a correctly signed token with %s", async (_, claims) => {
    await rejects(new JwtAccessTokens(SECRET, 3600).verify(await sign(claims)));
  });
});

describe("JwtAccessTokens' memory of verified tokens", () => {
  const counting = () => {
    const calls = { count: 0 };
    const verifySignature: typeof import("hono/jwt").verify = async (...args) => {
      calls.count++;
      return (await import("hono/jwt")).verify(...args);
    };
    return { calls, verifySignature };
  };

  it("checks a token's signature once within its lifetime", async () => {
    const { calls, verifySignature } = counting();
    const tokens = new JwtAccessTokens(SECRET, 3600, { verifySignature });
    const { accessToken } = await tokens.issue(actor);
    for (let i = 0; i < 5; i++) expect(await tokens.verify(accessToken)).toEqual(actor);
    expect(calls.count).toBe(1);
  });

  it("is bounded: the least recently used token is verified again after others pushed it out", async () => {
    const { calls, verifySignature } = counting();
    const tokens = new JwtAccessTokens(SECRET, 3600, { verifySignature, maxRemembered: 2 });
    const [a, b, c] = await Promise.all([tokens.issue(actor), tokens.issue(actor), tokens.issue(actor)]);
    for (const token of [a, b, a, c]) await tokens.verify(token!.accessToken);
    expect(calls.count).toBe(3);
    await tokens.verify(a!.accessToken); // still remembered: used after b
    expect(calls.count).toBe(3);
    await tokens.verify(b!.accessToken); // pushed out by c
    expect(calls.count).toBe(4);
  });

  it("never takes a token for another that shares its start", async () => {
    const tokens = new JwtAccessTokens(SECRET, 3600);
    const { accessToken } = await tokens.issue(actor);
    await tokens.verify(accessToken);
    await rejects(tokens.verify(`${accessToken}x`));
    await rejects(tokens.verify(accessToken.slice(0, -1)));
  });
});
