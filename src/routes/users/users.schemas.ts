import { z } from "@hono/zod-openapi";
import type { User } from "../../domain/users/user";
import { PlainText, Timestamp } from "../lib/schemas";

// Length before format: zod's email pattern backtracks, so a megabyte of "a.a.a." took seconds of event loop.
export const EMAIL_MAX_LENGTH = 254;
const Email = z.string().max(EMAIL_MAX_LENGTH, { abort: true }).email().openapi({ example: "kim@example.com" });
const Password = z.string().min(8).max(72).openapi({
  example: "correct-horse-battery",
  description: "8–72 characters; not one of the most common passwords, not containing the email's name",
});
const Name = PlainText(100).trim().min(1).openapi({ example: "Kim Minji" });
const Bio = PlainText(2000, { multiline: true }).nullable().openapi({ example: "Sneakerhead since 2009" });
const BusinessRegistrationNumber = z
  .string()
  .regex(/^\d{3}-\d{2}-\d{5}$/, "must look like 123-45-67890")
  .openapi({
    example: "124-81-00998",
    description: "Korean business registration number; the check digit is verified",
  });

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: Email,
    name: Name,
    role: z.enum(["ADMIN", "SELLER", "BUYER"]),
    bio: Bio,
    businessRegistrationNumber: BusinessRegistrationNumber.optional().openapi({ description: "Sellers only" }),
    adminCode: z.string().optional().openapi({ description: "Admins only", example: "ADM-1F2E3D4C" }),
    createdAt: Timestamp,
  })
  // One whole example: assembled from the properties', it showed a user with every optional field at once (an
  // ADMIN with an adminCode, as the answer to a sign-up, which no admin can do).
  .openapi("User", {
    example: {
      id: "0193a5b2-7c4e-7d3a-9f10-2b3c4d5e6f70",
      email: "kim@example.com",
      name: "Kim Minji",
      role: "BUYER",
      bio: "Sneakerhead since 2009",
      createdAt: "2026-11-25T10:00:00.000Z",
    },
  });

export const SignUpSchema = z
  .strictObject({
    email: Email,
    password: Password,
    name: Name,
    role: z.enum(["BUYER", "SELLER"]).default("BUYER"),
    businessRegistrationNumber: BusinessRegistrationNumber.optional().openapi({ description: "Required for SELLER" }),
    bio: Bio.optional(),
  })
  // Whole, so that it is one request the server accepts: from the properties' examples it was a BUYER with a
  // business registration number (refused: only sellers have one).
  .openapi("SignUp", {
    example: { email: "kim@example.com", password: "correct-horse-battery", name: "Kim Minji", role: "BUYER" },
  });

// Its own object, not an extension of SignUp: the document would show it as SignUp plus a closed object of
// the new fields, which no request (and no example) can satisfy.
export const CreateUserSchema = z
  .strictObject({
    ...SignUpSchema.shape,
    role: z.enum(["ADMIN", "SELLER", "BUYER"]),
    adminCode: PlainText(50).trim().min(1).optional().openapi({ description: "ADMIN only; generated when omitted" }),
  })
  .openapi("CreateUser", {
    example: { email: "lee@example.com", password: "correct-horse-battery", name: "Lee Jiwoo", role: "ADMIN" },
  });

// Login accepts what sign-up could have stored (no format check, which would tell which emails exist),
// bounded so that nobody can make us hash or remember megabytes.
export const LoginSchema = z
  .strictObject({ email: PlainText(254).min(1), password: z.string().min(1).max(1024) })
  .openapi("Login");

export const ChangePasswordSchema = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword: Password.openapi({
      description: "8–72 characters; not one of the most common passwords, not containing the email's name",
    }),
  })
  .strict()
  .openapi("ChangePassword");

export const LoginResponseSchema = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ description: "Seconds until the token expires", example: 3600 }),
    user: UserSchema,
  })
  .openapi("LoginResponse");

export const UpdateProfileSchema = z
  .object({
    name: Name.optional(),
    bio: Bio.optional(),
    businessRegistrationNumber: BusinessRegistrationNumber.optional().openapi({ description: "Sellers only" }),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one of name, bio, businessRegistrationNumber")
  .openapi("UpdateProfile");

export function toUserJson(user: User): z.infer<typeof UserSchema> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    bio: user.bio,
    ...(user.businessRegistrationNumber ? { businessRegistrationNumber: user.businessRegistrationNumber } : {}),
    ...(user.adminCode ? { adminCode: user.adminCode } : {}),
    createdAt: user.createdAt.toISOString(),
  };
}
