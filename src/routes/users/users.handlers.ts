import type { AppRouteHandler } from "../lib/app-env";
import type { changePassword, createUser, getMe, updateMe } from "./users.routes";
import { toUserJson } from "./users.schemas";

export const getMeHandler: AppRouteHandler<typeof getMe> = async (c) => {
  const user = await c.get("services").users.getUser(c.get("actor").userId);
  return c.json(toUserJson(user), 200);
};

export const updateMeHandler: AppRouteHandler<typeof updateMe> = async (c) => {
  const user = await c.get("services").users.updateProfile(c.get("actor").userId, c.req.valid("json"));
  return c.json(toUserJson(user), 200);
};

export const createUserHandler: AppRouteHandler<typeof createUser> = async (c) => {
  const user = await c.get("services").users.createAccount(c.req.valid("json"));
  return c.json(toUserJson(user), 201);
};

export const changePasswordHandler: AppRouteHandler<typeof changePassword> = async (c) => {
  const { currentPassword, newPassword } = c.req.valid("json");
  await c.get("services").users.changePassword(c.get("actor").userId, c.get("tokenId"), currentPassword, newPassword);
  return c.body(null, 204);
};
