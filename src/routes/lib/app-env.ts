import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Container } from "../../container";
import type { Actor } from "../../domain/users/user";

export interface AppEnv {
  Variables: {
    services: Container["services"];
    requestId: string;
    /** Set by `authenticate` on protected routes. */
    actor: Actor;
    /** The access token's own id (`jti`), set by `authenticate`. */
    tokenId: string;
  };
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
