import { createRouter } from "../lib/create-router";
import { changePasswordHandler, createUserHandler, getMeHandler, updateMeHandler } from "./users.handlers";
import { changePassword, createUser, getMe, updateMe } from "./users.routes";

export const usersRouter = createRouter()
  .openapi(getMe, getMeHandler)
  .openapi(updateMe, updateMeHandler)
  .openapi(changePassword, changePasswordHandler)
  .openapi(createUser, createUserHandler);
