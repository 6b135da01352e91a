import type { Actor, Role, UserRecord } from "./user";

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

/** What decides whether a user's access token still counts: its role and token version now. */
export interface TokenState {
  role: Role;
  tokenVersion: number;
  keptTokenId: string | null;
}

export interface UserRepository {
  /** Throws `EMAIL_TAKEN` when the (lower-cased) email exists; returns undefined only with `ifAbsent`. */
  insert(user: NewUser): Promise<UserRecord>;
  insertIfEmailAbsent(user: NewUser): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  update(id: string, changes: ProfileChanges): Promise<UserRecord | undefined>;
  findTokenState(id: string): Promise<TokenState | undefined>;
  /** Moves the token version on (every token issued so far stops counting); false if the user is gone. */
  revokeTokens(id: string): Promise<boolean>;
  /** Sets a new password hash and revokes every token but `keepTokenId`; false if the user is gone. */
  changePassword(id: string, passwordHash: string, keepTokenId: string): Promise<boolean>;
}

/** The claims of a genuine, unexpired access token (whether they still count is TokenStates' to say). */
export interface AccessTokenClaims extends Actor {
  tokenVersion: number;
  tokenId: string;
}

/**
 * Users' token states, read through a short-lived in-process copy. `forget` drops the copy here and on every
 * other instance (after a revocation: the next request reads the database).
 */
export interface TokenStates {
  get(userId: string): Promise<TokenState | undefined>;
  forget(userId: string): Promise<void>;
}

export interface AccessTokenIssuer {
  issue(actor: {
    userId: string;
    role: Role;
    tokenVersion?: number;
  }): Promise<{ accessToken: string; expiresIn: number }>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}
