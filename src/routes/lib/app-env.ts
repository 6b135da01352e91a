import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Container } from "../../container";
import type { Actor } from "../../domain/users/user";
import type { Logger } from "../../infra/logger";

export interface AppEnv {
  Variables: {
    services: Container["services"];
    requestId: string;
    log: Logger;
    /** Set by `authenticate` on protected routes. */
    actor: Actor;
  };
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
