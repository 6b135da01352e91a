import { DomainError } from "../../src/domain/shared/errors";

/** The DomainError an attempt rejects with; anything else (success included) fails the test. */
export async function domainErrorOf(attempt: Promise<unknown>): Promise<DomainError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${error}`);
  return error;
}
