import { createRouter } from "../lib/create-router";
import { createUserHandler, getMeHandler, updateMeHandler } from "./users.handlers";
import { createUser, getMe, updateMe } from "./users.routes";

export const usersRouter = createRouter()
  .openapi(getMe, getMeHandler)
  .openapi(updateMe, updateMeHandler)
  .openapi(createUser, createUserHandler);
