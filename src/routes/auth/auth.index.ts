import { createRouter } from "../lib/create-router";
import { logInHandler, signUpHandler } from "./auth.handlers";
import { logIn, signUp } from "./auth.routes";

export const authRouter = createRouter().openapi(signUp, signUpHandler).openapi(logIn, logInHandler);
