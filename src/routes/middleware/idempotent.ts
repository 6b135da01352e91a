import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { type AheadLook, isFinal } from "../../domain/idempotency/idempotency-service";
import type { IdempotencyScope, StoredResponse } from "../../domain/idempotency/ports";
import { DomainError, validationFailed } from "../../domain/shared/errors";
import type { AppEnv } from "../lib/app-env";
import { IDEMPOTENCY_KEY_MAX_LENGTH } from "../lib/schemas";

/**
 * Response headers worth replaying; everything else (dates, request ids) belongs to the new request.
 * `retry-after` is kept so the service can see it: an answer carrying it is never stored (see isFinal).
 */
const REPLAYED_HEADERS = ["content-type", "location", "retry-after"];

const bodyHash = (body: string) => new Bun.CryptoHasher("sha256").update(body).digest("hex");

function replayedHeaders(res: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

async function snapshot(res: Response): Promise<StoredResponse> {
  const headers = replayedHeaders(res);
  // A response already sent (the time limit's 503, answered while the work went on) cannot be read again; it
  // carries Retry-After, so it is never stored and its body does not matter.
  return { status: res.status, body: res.bodyUsed ? "" : await res.clone().text(), headers };
}

/** The key of a keyed POST (after `authenticate`: keys are per user) and its body's hash; undefined without one. */
async function keyOf(c: Context<AppEnv>): Promise<{ id: IdempotencyScope; requestHash: string } | undefined> {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw validationFailed("header.idempotency-key", `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
  }
  const id: IdempotencyScope = { scope: c.get("actor").userId, method: c.req.method, path: c.req.path, key };
  // Hono caches the body text, so the validator after us can still parse it.
  return { id, requestHash: bodyHash(await c.req.text()) };
}

/** `answer` as the key's replay, in place of whatever the request answered. */
function replay(c: Context<AppEnv>, answer: { status: number; body: string; headers: Record<string, string> }) {
  c.res = undefined;
  c.res = new Response(answer.body, {
    status: answer.status,
    headers: { ...answer.headers, "Idempotent-Replayed": "true" },
  });
}

/**
 * `Idempotency-Key` on a money-moving POST whose work is one unit (charge, order, coupon issue, returns): runs
 * after `authenticate` (keys are per user) and before validation. The handler runs in one transaction that
 * begins with the key's lock and ends with its stored answer (see IdempotencyService.runKeyed): the key costs no
 * commit of its own, and a crash can never leave the change without its stored answer. A replay gets the stored
 * answer with `Idempotent-Replayed: true`; a different body 422; a request while the first is in flight 409.
 */
export const idempotent = keyedInOneTransaction({});

/**
 * `idempotent` for a handler whose first statement is a read that takes the key's lock and row in (an order: its
 * products, product-repository.ts), and whose result is known before its last write, which then stores the key's
 * answer (`answer`: what the handler answers for that result; IdempotencyService.runKeyed checks it did): two
 * statements fewer, the same answers, the same transaction.
 */
export const idempotentInWorkStatements = (answer: (result: unknown) => StoredResponse) =>
  keyedInOneTransaction({ lookTakenIn: true, answerAhead: answer });

function keyedInOneTransaction(options: { lookTakenIn?: boolean; answerAhead?: (result: unknown) => StoredResponse }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const keyed = await keyOf(c);
    if (!keyed) return next();
    // Hono turns a thrown error into its problem response before `next()` returns, so `c.res` is the answer.
    const stored = await c.get("services").idempotency.runKeyed(
      keyed.id,
      keyed.requestHash,
      async () => {
        await next();
        return snapshot(c.res);
      },
      options,
    );
    if (stored) replay(c, stored);
  });
}

/**
 * How a route answers a replay from its own record while the key is in flight (a payment carries its key):
 * the answer the first request gave, if its record shows it finished; undefined if it is still under way.
 */
export type RecordAnswer = (c: Context<AppEnv>, key: string) => Promise<Response | undefined>;

/**
 * For handlers that commit step by step (payments persist each state before calling the gateway, refunds
 * before theirs): the key is claimed, in flight with a lease, by the first statement of the handler's first
 * transaction, so it commits with the first of the request's work (UnitOfWork.withOpening) and a request that
 * commits nothing leaves no key. The answer is stored after the handler's own commits, except a success the
 * route answers from its own record (`recordAnswer`): the record is the answer then, and storing a copy would
 * cost a commit of its own. If the process dies in between (or a 5xx releases the key), the key stays in
 * flight until its lease runs out and a retry runs the handler again: safe, because these handlers find what
 * the first run recorded (a paid order is not paid again, the gateway gets the same payment id; a refund
 * carries its request's key, so the retry answers with that refund). An answer the handler marks
 * provisional (built on state still being repaired) is not stored.
 *
 * `lookTakenIn`: the handler's first statement is a read that takes in the key's look (a payment's read of its
 * order and of the payment its key made, payment-repository.ts): the key's committed row is read by that statement
 * instead of one of its own before the handler, and decided there (IdempotencyService.lookAhead) with the same
 * answers: one statement fewer. Else the key is read first, on its own.
 */
export function idempotentAcrossCommits(recordAnswer?: RecordAnswer, options: { lookTakenIn?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const keyed = await keyOf(c);
    if (!keyed) return next();
    const { idempotency } = c.get("services");
    const { id, requestHash } = keyed;
    let look: AheadLook | undefined;
    if (options.lookTakenIn) look = idempotency.lookAhead(id, requestHash);
    else {
      const decided = await answerOf(c, id, requestHash, recordAnswer);
      if (decided !== "proceed") return replay(c, decided);
    }
    const claim = idempotency.claimInFirstTransaction(id, requestHash);
    await idempotency.runClaiming(claim, next, look);
    if (look) {
      // The handler sent nothing (a body refused by validation): the key's answer still comes first, decided as
      // when the key was read before the handler (another body is 422 and a replay the replay, never the
      // refusal). Not by the look alone: it does not read the route's record, which answers a key in flight also
      // once its lease ran out (a paid request's key stays in flight: its payment is its answer).
      if (!look.settled && isFinal({ status: c.res.status, body: "", headers: replayedHeaders(c.res) })) {
        const decided = await answerOf(c, id, requestHash, recordAnswer);
        if (decided !== "proceed") return replay(c, decided);
      }
      // Stopped by the look (the handler's answer is the look's error): the key's answer decides.
      if (look.stop) return answerStopped(c, look, recordAnswer);
    }
    if (claim.refused) {
      // Another request held the key at this one's first commit: answer as it did, if it is done now.
      const after = await answerOf(c, id, requestHash, recordAnswer);
      if (after !== "proceed") replay(c, after);
      return;
    }
    const response = await snapshot(c.res);
    await idempotency.recordOutcome(id, requestHash, claim, response, {
      provisional: c.get("provisionalAnswer") === true,
      answeredByRecord: recordAnswer !== undefined && response.status === 200,
    });
  });
}

/** The answer of a request its key's look stopped: the replay, the route's record for a key in flight, or the error. */
async function answerStopped(c: Context<AppEnv>, look: AheadLook, recordAnswer: RecordAnswer | undefined) {
  if (look.replay) return replay(c, look.replay);
  if (look.fromRecord) {
    const recorded = await recordAnswer?.(c, look.id.key);
    if (recorded) return replay(c, await snapshot(recorded));
  }
  throw look.stop;
}

/**
 * The answer a request with the key gets without running: the stored one, or the one the route's record gives
 * for a key in flight; "proceed" when it is to run; 409 while another request holds the key.
 */
async function answerOf(
  c: Context<AppEnv>,
  id: IdempotencyScope,
  requestHash: string,
  recordAnswer: RecordAnswer | undefined,
): Promise<StoredResponse | "proceed"> {
  const decision = await c.get("services").idempotency.begin(id, requestHash);
  if (decision.kind === "proceed") return "proceed";
  if (decision.kind === "replay") return decision.response;
  const recorded = await recordAnswer?.(c, id.key);
  if (recorded) return snapshot(recorded);
  if (decision.abandoned) return "proceed";
  throw new DomainError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still in progress");
}
