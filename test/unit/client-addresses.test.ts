import { describe, expect, it } from "bun:test";
import { ClientAddresses, parseTrustedProxies } from "../../src/infra/client-addresses";

describe("ClientAddresses", () => {
  it("believes no header when TRUSTED_PROXIES is unset: the socket's address is the client", () => {
    const addresses = new ClientAddresses(undefined);
    expect(addresses.resolve("127.0.0.1", "203.0.113.7")).toBe("127.0.0.1");
  });

  it("believes X-Forwarded-For only from a trusted proxy, and only the entries trusted hops added", () => {
    const addresses = new ClientAddresses("10.0.0.0/8, ::1");
    // The proxy appended the client it saw; what the client wrote before that is its own claim.
    expect(addresses.resolve("10.1.2.3", "1.1.1.1, 203.0.113.7")).toBe("203.0.113.7");
    // Two of our proxies in a row: the first untrusted entry from the right.
    expect(addresses.resolve("10.1.2.3", "1.1.1.1, 203.0.113.7, 10.9.9.9")).toBe("203.0.113.7");
    // A peer that is not our proxy: its header is ignored.
    expect(addresses.resolve("198.51.100.1", "203.0.113.7")).toBe("198.51.100.1");
    expect(addresses.resolve("::1", "2001:db8::5")).toBe("2001:db8::5");
    // Nothing believable beyond the proxy (missing or garbage): the proxy is the last address we can vouch for.
    expect(addresses.resolve("10.1.2.3", undefined)).toBe("10.1.2.3");
    expect(addresses.resolve("10.1.2.3", "not-an-address")).toBe("10.1.2.3");
  });

  it("reads an IPv4 peer on a dual-stack socket as its IPv4 address", () => {
    expect(new ClientAddresses("127.0.0.1").resolve("::ffff:127.0.0.1", "203.0.113.7")).toBe("203.0.113.7");
  });

  it("has no address without a socket", () => {
    expect(new ClientAddresses("127.0.0.1").resolve(undefined, "203.0.113.7")).toBe("unknown");
  });

  it("refuses a TRUSTED_PROXIES entry that is not an address or CIDR range", () => {
    expect(() => parseTrustedProxies("10.0.0.0/33")).toThrow("10.0.0.0/33");
    expect(() => parseTrustedProxies("proxy.internal")).toThrow("proxy.internal");
    expect(parseTrustedProxies(" 10.0.0.1 , fd00::/8 ")).toHaveLength(2);
  });
});
