import type { BalanceRepository } from "../balances/ports";
import { DomainError, validationFailed } from "../shared/errors";
import type { Counters } from "../shared/ports";
import type { UnitOfWork } from "../shared/unit-of-work";
import { isValidBusinessRegistrationNumber } from "./business-registration-number";
import { assertAcceptablePassword } from "./password-policy";
import type {
  AccessTokenClaims,
  AccessTokenIssuer,
  NewUser,
  PasswordHasher,
  ProfileChanges,
  TokenStates,
  UserRepository,
} from "./ports";
import { type Actor, type Role, toPublicUser, type User, type UserRecord } from "./user";

export interface NewAccount {
  email: string;
  password: string;
  name: string;
  role: Role;
  bio?: string | null;
  businessRegistrationNumber?: string | null;
  adminCode?: string | null;
}

export interface LoginResult {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  user: User;
}

/**
 * Password guessing (contract: failures counted per (email, client address) and per client address across
 * emails). An (email, address) pair gets MAX_LOGIN_ATTEMPTS tries per window: guesses from one address never
 * lock the owner out from another. An address gets `failedLoginsPerAddress` (LOGIN_FAILURES_PER_ADDRESS, default
 * 100) failures across all emails (credential stuffing). Attempts are counted before the (slow) password check, so parallel guesses cannot
 * slip under a limit; a success takes its own attempt back, so successful logins count for nothing.
 */
export const MAX_LOGIN_ATTEMPTS = 10;
export const LOGIN_WINDOW_SECONDS = 5 * 60;
/** Public sign-ups per client address and window: each costs a password hash and tells whether an email exists. */
export const MAX_SIGNUPS_PER_ADDRESS = 10;
export const SIGNUP_WINDOW_SECONDS = 10 * 60;
/**
 * Where a request came from when no socket says (in-process requests: tests, tools). Per-address limits
 * across accounts do not apply to it; the per-(email, address) one does, with this as the address.
 */
export const UNKNOWN_CLIENT = "unknown";

interface UserServiceDeps {
  users: UserRepository;
  balances: BalanceRepository;
  unitOfWork: UnitOfWork;
  passwords: PasswordHasher;
  tokens: AccessTokenIssuer;
  tokenStates: TokenStates;
  counters: Counters;
  /** Failed logins one client address may have across all emails per window. */
  failedLoginsPerAddress: number;
  /** A keyed hash (HMAC) of an email or address: counter keys that are bounded and reveal neither. */
  pseudonymise: (text: string) => string;
  newId: () => string;
}

export class UserService {
  // Verifying against a real hash when the email is unknown keeps both failures equally slow.
  #dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: UserServiceDeps) {}

  /** Public sign-up: buyers and sellers only (the route schema already refuses ADMIN), throttled per address. */
  async signUp(account: NewAccount, clientAddress: string = UNKNOWN_CLIENT): Promise<User> {
    if (account.role === "ADMIN") throw new DomainError("FORBIDDEN", "Admins cannot sign up");
    if (clientAddress !== UNKNOWN_CLIENT) {
      const key = `signup-attempts:${this.deps.pseudonymise(clientAddress)}`;
      const attempts = await this.deps.counters.increment(key, SIGNUP_WINDOW_SECONDS);
      if (attempts.count > MAX_SIGNUPS_PER_ADDRESS) {
        throw rateLimited("Too many sign-ups from your address; try again later", attempts.resetsInSeconds);
      }
    }
    return this.createAccount(account);
  }

  /** Any role, for admins; every user gets an empty balance in the same transaction. */
  async createAccount(account: NewAccount): Promise<User> {
    const record = await this.#prepare(account);
    const created = await this.deps.unitOfWork.withTransaction(async () => {
      const user = await this.deps.users.insert(record);
      await this.deps.balances.open(user.id);
      return user;
    });
    return toPublicUser(created);
  }

  /**
   * Start-up bootstrap: creates the admin once; concurrent instances race harmlessly on the unique email.
   * "taken" means a non-admin already owns the email: the deployment has no admin until that is sorted out.
   */
  async ensureAdmin(email: string, password: string): Promise<"created" | "exists" | "taken"> {
    const address = normaliseEmail(email);
    // Every start-up runs this: look first, so an existing account costs no password hashing.
    const existing = await this.deps.users.findByEmail(address);
    if (!existing) {
      // The operator's own choice from the environment: the password rules are for accounts made over HTTP.
      const record = await this.#prepare({ email, password, name: "Administrator", role: "ADMIN" }, false);
      const created = await this.deps.unitOfWork.withTransaction(async () => {
        const user = await this.deps.users.insertIfEmailAbsent(record);
        if (user) await this.deps.balances.open(user.id);
        return user;
      });
      if (created) return "created";
    }
    // The email has an owner: this admin from an earlier start, or another account (perhaps one that
    // took the email between the look and the insert).
    const owner = existing ?? (await this.deps.users.findByEmail(address));
    return owner?.role === "ADMIN" ? "exists" : "taken";
  }

  async logIn(email: string, password: string, clientAddress: string = UNKNOWN_CLIENT): Promise<LoginResult> {
    const normalised = normaliseEmail(email);
    const { counters, pseudonymise } = this.deps;
    // Keyed hashes: counter keys that are bounded and reveal neither the email nor the address.
    const pairKey = `login-attempts:${pseudonymise(`${normalised}\n${clientAddress}`)}`;
    const pair = await counters.increment(pairKey, LOGIN_WINDOW_SECONDS);
    if (pair.count > MAX_LOGIN_ATTEMPTS) {
      throw rateLimited(
        "Too many login attempts for this email from your address; try again later",
        pair.resetsInSeconds,
      );
    }
    const addressKey =
      clientAddress === UNKNOWN_CLIENT ? undefined : `login-attempts-address:${pseudonymise(clientAddress)}`;
    if (addressKey) {
      const fromAddress = await counters.increment(addressKey, LOGIN_WINDOW_SECONDS);
      if (fromAddress.count > this.deps.failedLoginsPerAddress) {
        throw rateLimited("Too many failed logins from your address; try again later", fromAddress.resetsInSeconds);
      }
    }
    const user = await this.deps.users.findByEmail(normalised);
    // A refused (overloaded) hash is not remembered: the next login computes it again.
    this.#dummyHash ??= this.deps.passwords.hash("not-a-real-password").catch((error) => {
      this.#dummyHash = undefined;
      throw error;
    });
    const matches = await this.deps.passwords.verify(password, user?.passwordHash ?? (await this.#dummyHash));
    if (!user || !matches) throw new DomainError("INVALID_CREDENTIALS", "Email or password is wrong");
    // A success counts for nothing: the pair starts afresh, the address gets its attempt back.
    await Promise.all([counters.reset(pairKey), addressKey ? counters.decrement(addressKey) : undefined]);
    const token = await this.deps.tokens.issue({ userId: user.id, role: user.role, tokenVersion: user.tokenVersion });
    return { ...token, tokenType: "Bearer", user: toPublicUser(user) };
  }

  /**
   * Whether a genuine token still speaks for its user: the user exists, has the role the token names, and
   * the token is of the current version (or is the one a password change kept). Otherwise 401, so that a
   * demoted admin's or a deleted seller's old token does nothing.
   */
  async authenticate(claims: AccessTokenClaims): Promise<Actor> {
    const state = await this.deps.tokenStates.get(claims.userId);
    const current =
      state !== undefined &&
      state.role === claims.role &&
      (claims.tokenVersion === state.tokenVersion || (claims.tokenId !== "" && claims.tokenId === state.keptTokenId));
    if (!current) throw new DomainError("UNAUTHENTICATED", "The access token is no longer valid; log in again");
    return { userId: claims.userId, role: claims.role };
  }

  /** Every token of the user stops working, on every instance. */
  async logOut(userId: string): Promise<void> {
    await this.deps.users.revokeTokens(userId);
    await this.deps.tokenStates.forget(userId);
  }

  /**
   * A new password, given the current one: every other token of the user stops working; the caller's own
   * (`tokenId`) goes on. Failed guesses count like failed logins (a stolen token must not become a way to
   * find the password).
   */
  async changePassword(userId: string, tokenId: string, currentPassword: string, newPassword: string): Promise<void> {
    const attemptsKey = `password-change-attempts:${userId}`;
    const attempts = await this.deps.counters.increment(attemptsKey, LOGIN_WINDOW_SECONDS);
    if (attempts.count > MAX_LOGIN_ATTEMPTS) {
      throw rateLimited("Too many password change attempts; try again later", attempts.resetsInSeconds);
    }
    const user = await this.#find(userId);
    if (!(await this.deps.passwords.verify(currentPassword, user.passwordHash))) {
      throw new DomainError("INVALID_CREDENTIALS", "The current password is wrong");
    }
    await this.deps.counters.reset(attemptsKey);
    assertAcceptablePassword(newPassword, user.email, "newPassword");
    const hash = await this.deps.passwords.hash(newPassword);
    if (!(await this.deps.users.changePassword(userId, hash, tokenId)))
      throw new DomainError("USER_NOT_FOUND", "User not found");
    await this.deps.tokenStates.forget(userId);
  }

  async getUser(id: string): Promise<User> {
    return toPublicUser(await this.#find(id));
  }

  async updateProfile(id: string, changes: ProfileChanges): Promise<User> {
    const user = await this.#find(id);
    if (changes.businessRegistrationNumber !== undefined) {
      if (user.role !== "SELLER") {
        throw validationFailed("businessRegistrationNumber", "Only sellers have a business registration number");
      }
      assertValidBrn(changes.businessRegistrationNumber);
    }
    const updated = await this.deps.users.update(id, changes);
    if (!updated) throw new DomainError("USER_NOT_FOUND", "User not found");
    return toPublicUser(updated);
  }

  async #find(id: string): Promise<UserRecord> {
    const user = await this.deps.users.findById(id);
    if (!user) throw new DomainError("USER_NOT_FOUND", `No user ${id}`);
    return user;
  }

  async #prepare(account: NewAccount, checkPassword = true): Promise<NewUser> {
    const brn = account.businessRegistrationNumber ?? null;
    if (account.role === "SELLER") {
      if (brn === null)
        throw validationFailed("businessRegistrationNumber", "Sellers need a business registration number");
      assertValidBrn(brn);
    } else if (brn !== null) {
      throw validationFailed("businessRegistrationNumber", "Only sellers have a business registration number");
    }
    if (account.role !== "ADMIN" && account.adminCode) {
      throw validationFailed("adminCode", "Only admins have an admin code");
    }
    if (checkPassword) assertAcceptablePassword(account.password, account.email, "password");
    return {
      id: this.deps.newId(),
      email: normaliseEmail(account.email),
      passwordHash: await this.deps.passwords.hash(account.password),
      name: account.name,
      role: account.role,
      bio: account.bio ?? null,
      businessRegistrationNumber: brn,
      adminCode: account.role === "ADMIN" ? (account.adminCode ?? newAdminCode()) : null,
    };
  }
}

const normaliseEmail = (email: string) => email.trim().toLowerCase();

const rateLimited = (detail: string, retryAfterSeconds: number) =>
  new DomainError("RATE_LIMITED", detail, undefined, { retryAfterSeconds: Math.max(1, retryAfterSeconds) });

function assertValidBrn(value: string): void {
  if (!isValidBusinessRegistrationNumber(value)) {
    throw validationFailed(
      "businessRegistrationNumber",
      "Must be a valid Korean business registration number (123-45-67890, check digit included)",
    );
  }
}

function newAdminCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `ADM-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase()}`;
}
