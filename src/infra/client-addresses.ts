import { BlockList, isIP } from "node:net";

import { UNKNOWN_CLIENT } from "../domain/users/user-service";

/** `::ffff:1.2.3.4` is how a dual-stack socket shows an IPv4 peer: count it as the IPv4 address. */
const normalise = (address: string) => {
  const trimmed = address.trim();
  return trimmed.toLowerCase().startsWith("::ffff:") && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
};

/**
 * Decides the client address of a request (contract: the socket's, or the `X-Forwarded-For` entry added by a
 * proxy listed in TRUSTED_PROXIES; none listed, no header is trusted). The header is read from the right:
 * each entry was appended by the hop before it, so entries are believed only while that hop is a trusted
 * proxy; the first one not added by a trusted proxy is the client. Whatever a client writes at the left of
 * the header is never reached unless every proxy in between is ours.
 */
export class ClientAddresses {
  readonly #trusted = new BlockList();
  readonly #any: boolean;

  /** `trustedProxies`: comma-separated addresses and CIDR ranges, IPv4 or IPv6 (`10.0.0.0/8, ::1`). */
  constructor(trustedProxies: string | undefined) {
    const entries = parseTrustedProxies(trustedProxies);
    for (const { address, prefix, family } of entries) {
      if (prefix === undefined) this.#trusted.addAddress(address, family);
      else this.#trusted.addSubnet(address, prefix, family);
    }
    this.#any = entries.length > 0;
  }

  /** The client of a request whose socket peer is `socketAddress`, given its X-Forwarded-For header. */
  resolve(socketAddress: string | undefined, forwardedFor: string | undefined): string {
    if (!socketAddress) return UNKNOWN_CLIENT;
    let client = normalise(socketAddress);
    if (!this.#any || !forwardedFor) return client;
    const hops = forwardedFor.split(",").map(normalise);
    while (this.#isTrusted(client)) {
      const previous = hops.pop();
      // The header ran out (every hop was ours), or a hop wrote something that is not an address: stop at the
      // last address we could believe.
      if (previous === undefined || isIP(previous) === 0) break;
      client = previous;
    }
    return client;
  }

  #isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.#trusted.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}

/** Parses TRUSTED_PROXIES; throws a message naming the bad entry (config validation uses it). */
export function parseTrustedProxies(value: string | undefined) {
  if (!value) return [];
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const [address = "", prefixText] = entry.split("/");
      const version = isIP(address);
      const family = version === 4 ? ("ipv4" as const) : ("ipv6" as const);
      const prefix = prefixText === undefined ? undefined : Number(prefixText);
      const maxPrefix = version === 4 ? 32 : 128;
      if (
        version === 0 ||
        (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix))
      ) {
        throw new Error(`"${entry}" is not an IP address or CIDR range`);
      }
      return { address, prefix, family };
    });
}
