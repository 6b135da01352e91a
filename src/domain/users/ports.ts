import type { Role, UserRecord } from "./user";

export interface NewUser {
  id: string;
  email: string;
  passwordHash: string;
  name: string;
  role: Role;
  bio: string | null;
  businessRegistrationNumber: string | null;
  adminCode: string | null;
}

export interface ProfileChanges {
  name?: string;
  bio?: string | null;
  businessRegistrationNumber?: string;
}

export interface UserRepository {
  /** Throws `EMAIL_TAKEN` when the (lower-cased) email exists; returns undefined only with `ifAbsent`. */
  insert(user: NewUser): Promise<UserRecord>;
  insertIfEmailAbsent(user: NewUser): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  update(id: string, changes: ProfileChanges): Promise<UserRecord | undefined>;
}

export interface AccessTokenIssuer {
  issue(actor: { userId: string; role: Role }): Promise<{ accessToken: string; expiresIn: number }>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}
