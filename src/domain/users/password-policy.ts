import { validationFailed } from "../shared/errors";
import commonPasswordList from "./common-passwords.txt" with { type: "text" };

/** The most common passwords of 8 characters or more, lower-cased (a few thousand; see the file's header). */
const COMMON_PASSWORDS = new Set(
  commonPasswordList.split("\n").filter((line) => line.length > 0 && !line.startsWith("#")),
);

/**
 * A local part this short ("jo@…") would refuse half the passwords that merely contain two letters; from
 * three characters on, a password containing it is a guess anyone who knows the address tries first.
 */
const MIN_LOCAL_PART = 3;

/**
 * Refuses passwords an attacker tries first (ASVS 2.1.7): one of the most common, in any case, or one that
 * contains the email's local part. The length rule (8–72) is the request schema's.
 */
export function assertAcceptablePassword(password: string, email: string, path: string): void {
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) {
    throw validationFailed(path, "is one of the most common passwords; choose another");
  }
  const localPart = email.trim().toLowerCase().split("@")[0] ?? "";
  if (localPart.length >= MIN_LOCAL_PART && lowered.includes(localPart)) {
    throw validationFailed(path, "must not contain the email address's name");
  }
}

export const commonPasswordCount = () => COMMON_PASSWORDS.size;
