import { createRoute } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { jsonBody, jsonResponse } from "../lib/schemas";
import { authenticate, bearerAuth } from "../middleware/authenticate";
import { LoginResponseSchema, LoginSchema, SignUpSchema, UserSchema } from "../users/users.schemas";

export const signUp = createRoute({
  operationId: "signUp",
  method: "post",
  path: "/api/v1/auth/signup",
  tags: ["Auth"],
  summary: "Sign up as a buyer or seller",
  description: "Sellers must send a valid business registration number. Admins cannot sign up.",
  security: [],
  request: { body: jsonBody(SignUpSchema) },
  responses: {
    201: jsonResponse(UserSchema, "The new user"),
    ...problemResponses(...BODY_PROBLEMS, "EMAIL_TAKEN"),
  },
});

export const logIn = createRoute({
  operationId: "logIn",
  method: "post",
  path: "/api/v1/auth/login",
  tags: ["Auth"],
  summary: "Exchange email and password for a bearer token",
  description:
    "After 10 failed logins for one email within 5 minutes, further logins for it answer 429 RATE_LIMITED (with Retry-After) until the window ends.",
  security: [],
  request: { body: jsonBody(LoginSchema) },
  responses: {
    200: jsonResponse(LoginResponseSchema, "A bearer token and the user"),
    ...problemResponses(...BODY_PROBLEMS, "INVALID_CREDENTIALS", "RATE_LIMITED"),
  },
});

export const logOut = createRoute({
  operationId: "logOut",
  method: "post",
  path: "/api/v1/auth/logout",
  tags: ["Auth"],
  summary: "End every session of the caller",
  description: "Every access token of the caller, this one included, is refused from now on, on every instance.",
  security: bearerAuth,
  middleware: [authenticate] as const,
  responses: {
    204: { description: "Logged out" },
    ...problemResponses("UNAUTHENTICATED"),
  },
});
