import { ConfigError } from "../infra/config";

// The command-line tools (`bun run seed`, `invariants`, `coupons:reconcile`, `reconcile:payments`) end one way:
// the status main returns (0 clean, 1 found something to alert on), or 2 when they could not run at all (the
// seed, which alerts on nothing, has always said 1 for that). A usage or configuration error prints its message
// alone; anything else prints the error with its stack.

/** Bad arguments: the message says what was wrong (and may carry the usage). */
export class UsageError extends Error {}

function isExpected(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof UsageError ||
    Boolean((error as { code?: string } | undefined)?.code?.startsWith("ERR_PARSE_ARGS"))
  );
}

/** Ends the process for an error that stopped a command. */
export function failCommand(error: unknown, status = 2): never {
  console.error(isExpected(error) ? error.message : error);
  process.exit(status);
}

/** Runs a command's main and exits with its status (see failCommand for errors). */
export async function runCommand(main: () => Promise<number>): Promise<never> {
  try {
    process.exit(await main());
  } catch (error) {
    failCommand(error);
  }
}
