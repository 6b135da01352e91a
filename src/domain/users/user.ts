export const ROLES = ["ADMIN", "SELLER", "BUYER"] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  bio: string | null;
  businessRegistrationNumber: string | null;
  adminCode: string | null;
  createdAt: Date;
}

export interface UserRecord extends User {
  passwordHash: string;
  tokenVersion: number;
  keptTokenId: string | null;
}

/** Who is calling, as proven by the access token. */
export interface Actor {
  userId: string;
  role: Role;
}

export const toPublicUser = ({
  passwordHash: _hash,
  tokenVersion: _version,
  keptTokenId: _kept,
  ...user
}: UserRecord): User => user;
