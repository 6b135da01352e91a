import type { AppRouteHandler } from "../lib/app-env";
import type { changePassword, createUser, getMe, updateMe } from "./users.routes";
import { toUserJson } from "./users.schemas";

export const getMeHandler: AppRouteHandler<typeof getMe> = async (c) => {
  const user = await c.var.services.users.getUser(c.var.actor.userId);
  return c.json(toUserJson(user), 200);
};

export const updateMeHandler: AppRouteHandler<typeof updateMe> = async (c) => {
  const user = await c.var.services.users.updateProfile(c.var.actor.userId, c.req.valid("json"));
  return c.json(toUserJson(user), 200);
};

export const createUserHandler: AppRouteHandler<typeof createUser> = async (c) => {
  const user = await c.var.services.users.createAccount(c.req.valid("json"));
  return c.json(toUserJson(user), 201);
};

export const changePasswordHandler: AppRouteHandler<typeof changePassword> = async (c) => {
  const { currentPassword, newPassword } = c.req.valid("json");
  await c.var.services.users.changePassword(c.var.actor.userId, c.var.tokenId, currentPassword, newPassword);
  return c.body(null, 204);
};
