import { createRoute } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { jsonBody, jsonResponse } from "../lib/schemas";
import { signedIn } from "../middleware/authenticate";
import { LoginResponseSchema, LoginSchema, SignUpSchema, UserSchema } from "../users/users.schemas";

export const signUp = createRoute({
  operationId: "signUp",
  method: "post",
  path: "/api/v1/auth/signup",
  tags: ["Auth"],
  summary: "Sign up as a buyer or seller",
  description:
    "Sellers must send a valid business registration number. Admins cannot sign up. Passwords among the most common ones, or containing the email's name, are refused (400). At most 10 sign-ups per client address in 10 minutes (429 RATE_LIMITED with Retry-After); 503 UNAVAILABLE with Retry-After while password hashing is saturated.",
  security: [],
  request: { body: jsonBody(SignUpSchema) },
  responses: {
    201: jsonResponse(UserSchema, "The new user"),
    ...problemResponses(...BODY_PROBLEMS, "EMAIL_TAKEN", "RATE_LIMITED"),
  },
});

export const logIn = createRoute({
  operationId: "logIn",
  method: "post",
  path: "/api/v1/auth/login",
  tags: ["Auth"],
  summary: "Exchange email and password for a bearer token",
  description:
    "Failed logins are counted per (email, client address) and per client address across emails, within 5 minutes: after 10 for a pair, that email from that address answers 429 RATE_LIMITED (with Retry-After) until the window ends; after LOGIN_FAILURES_PER_ADDRESS (100) from one address, every login from it does. Failures from one address never lock the owner out from another; successful logins count for nothing. The client address is the socket's, or the X-Forwarded-For entry added by a proxy in TRUSTED_PROXIES. 503 UNAVAILABLE with Retry-After while password hashing is saturated.",
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
  ...signedIn(),
  responses: {
    204: { description: "Logged out" },
    ...problemResponses("UNAUTHENTICATED"),
  },
});
