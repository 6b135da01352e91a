import { createRoute } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { jsonBody, jsonResponse } from "../lib/schemas";
import { requireRole, signedIn } from "../middleware/authenticate";
import { ChangePasswordSchema, CreateUserSchema, UpdateProfileSchema, UserSchema } from "./users.schemas";

export const getMe = createRoute({
  operationId: "getMe",
  method: "get",
  path: "/api/v1/users/me",
  tags: ["Users"],
  summary: "The calling user",
  ...signedIn(),
  responses: {
    200: jsonResponse(UserSchema, "The caller"),
    ...problemResponses("UNAUTHENTICATED", "USER_NOT_FOUND"),
  },
});

export const updateMe = createRoute({
  operationId: "updateMe",
  method: "patch",
  path: "/api/v1/users/me",
  tags: ["Users"],
  summary: "Edit the caller's profile",
  description: "Edits `name` and `bio`; sellers may also change their business registration number.",
  ...signedIn(),
  request: { body: jsonBody(UpdateProfileSchema) },
  responses: {
    200: jsonResponse(UserSchema, "The updated caller"),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "USER_NOT_FOUND"),
  },
});

export const changePassword = createRoute({
  operationId: "changePassword",
  method: "post",
  path: "/api/v1/users/me/password",
  tags: ["Users"],
  summary: "Change the caller's password",
  description:
    "Needs the current password (wrong → 401 INVALID_CREDENTIALS; repeated failures → 429 RATE_LIMITED). Every other token of the user stops working at once, on every instance; the one that made the request goes on.",
  ...signedIn(),
  request: { body: jsonBody(ChangePasswordSchema) },
  responses: {
    204: { description: "Changed; the user's other tokens are refused from now on" },
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "INVALID_CREDENTIALS", "RATE_LIMITED"),
  },
});

export const createUser = createRoute({
  operationId: "createUser",
  method: "post",
  path: "/api/v1/admin/users",
  tags: ["Admin"],
  summary: "Create a user of any role (ADMIN)",
  description: "Admins carry an `adminCode` (generated when omitted); sellers need a business registration number.",
  ...signedIn(requireRole("ADMIN")),
  request: { body: jsonBody(CreateUserSchema) },
  responses: {
    201: jsonResponse(UserSchema, "The new user"),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "FORBIDDEN", "EMAIL_TAKEN"),
  },
});
