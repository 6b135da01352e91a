import type { AppRouteHandler } from "../lib/app-env";
import { clientAddressOf } from "../lib/client-address";
import { toUserJson } from "../users/users.schemas";
import type { logIn, logOut, signUp } from "./auth.routes";

export const signUpHandler: AppRouteHandler<typeof signUp> = async (c) => {
  const user = await c.get("services").users.signUp(c.req.valid("json"), clientAddressOf(c));
  return c.json(toUserJson(user), 201);
};

export const logInHandler: AppRouteHandler<typeof logIn> = async (c) => {
  const { email, password } = c.req.valid("json");
  const result = await c.get("services").users.logIn(email, password, clientAddressOf(c));
  return c.json({ ...result, user: toUserJson(result.user) }, 200);
};

export const logOutHandler: AppRouteHandler<typeof logOut> = async (c) => {
  await c.get("services").users.logOut(c.get("actor").userId);
  return c.body(null, 204);
};
