import { createRouter } from "../lib/create-router";
import { logInHandler, logOutHandler, signUpHandler } from "./auth.handlers";
import { logIn, logOut, signUp } from "./auth.routes";

export const authRouter = createRouter()
  .openapi(signUp, signUpHandler)
  .openapi(logIn, logInHandler)
  .openapi(logOut, logOutHandler);
