import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import { UNKNOWN_CLIENT } from "../../domain/users/user-service";
import type { AppEnv } from "./app-env";

/**
 * The client address of a request: the socket's peer, or what trusted proxies say of it (ClientAddresses).
 * A request that did not come through Bun's server (in-process, in tests) has no socket: UNKNOWN_CLIENT.
 */
export function clientAddressOf(c: Context<AppEnv>): string {
  let socketAddress: string | undefined;
  try {
    socketAddress = getConnInfo(c).remote.address;
  } catch {
    return UNKNOWN_CLIENT;
  }
  return c.get("services").clientAddresses.resolve(socketAddress, c.req.header("X-Forwarded-For"));
}
