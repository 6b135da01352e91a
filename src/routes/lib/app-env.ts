import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Actor } from "../../domain/users/user";
import type { Services } from "../../wiring/services";

export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    /** Set by `authenticate` on protected routes. */
    actor: Actor;
    /** The access token's own id (`jti`), set by `authenticate`. */
    tokenId: string;
    /**
     * Set by a handler whose answer rests on state still being repaired (a refund a dead request recorded,
     * not final yet): the idempotency layer releases the key instead of storing the answer for replays.
     */
    provisionalAnswer?: boolean;
  };
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
