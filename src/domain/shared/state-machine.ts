/**
 * One shape for every state machine of the shop (order, payment, refund, coupon, user coupon, outbox event,
 * popular cache): a list of the transitions it allows, each `from → to`, optionally named by what makes it
 * (`by`: an event such as "refund", or a named move such as the relay's "claim") and carrying facts of its own
 * (who may make it, why it happens). Everything else is asked of the machine, never written again:
 * - `can(from, to, by?)` / `assert(...)`: the one check of a move;
 * - `sourcesOf(to, by?)`: the statuses a move to `to` may start from — what a conditional
 *   `UPDATE … WHERE status IN (…)` accepts, so the SQL obeys the table;
 * - `move(to, { by?, only? })`: a named move for a repository (its sources and its target), `only` narrowing the
 *   sources to a subset the table allows (checked when the module loads).
 */
export interface Transition<S extends string, E extends string = string> {
  from: S;
  to: S;
  by?: E;
}

/** A conditional update's statuses: the ones it may start from, the one it sets. */
export interface Move<S extends string> {
  from: readonly S[];
  to: S;
}

export interface StateMachine<S extends string, E extends string, T extends Transition<S, E>> {
  readonly name: string;
  readonly statuses: readonly S[];
  readonly transitions: readonly T[];
  /** The transition from `from` to `to` (made by `by`, when given), if the table has it. */
  find(from: S, to: S, by?: E): T | undefined;
  can(from: S, to: S, by?: E): boolean;
  /** Throws the machine's refusal unless `can(from, to, by)`; `action` words the refusal ("suspend"). */
  assert(from: S, to: S, context?: { by?: E; action?: string }): void;
  /** The statuses a move to `to` (by `by`, when given) may start from, in the order of `statuses`. */
  sourcesOf(to: S, by?: E): S[];
  /** The statuses `from` may move to. */
  targetsOf(from: S): S[];
  /** No move leaves it. */
  isFinal(status: S): boolean;
  move(to: S, options?: { by?: E; only?: readonly S[] }): Move<S>;
}

export interface Refusal<S extends string, E extends string> {
  machine: string;
  from: S;
  to: S;
  by?: E;
  action?: string;
}

const defaultRefusal = <S extends string, E extends string>({ machine, from, to, by }: Refusal<S, E>) =>
  new Error(`the ${machine} machine has no move ${from} → ${to}${by ? ` by ${by}` : ""}`);

export function defineMachine<S extends string, E extends string, T extends Transition<S, E>>(spec: {
  name: string;
  statuses: readonly S[];
  transitions: readonly T[];
  /** What `assert` throws (a DomainError with the machine's code); a plain Error (a bug) by default. */
  refuse?: (refusal: Refusal<S, E>) => Error;
}): StateMachine<S, E, T> {
  const { name, statuses, transitions } = spec;
  for (const t of transitions) {
    if (!statuses.includes(t.from) || !statuses.includes(t.to)) {
      throw new Error(`the ${name} machine names an unknown status in ${t.from} → ${t.to}`);
    }
  }
  const refuse = spec.refuse ?? defaultRefusal;
  const matches = (t: T, by?: E) => by === undefined || t.by === by;
  const find = (from: S, to: S, by?: E) => transitions.find((t) => t.from === from && t.to === to && matches(t, by));
  const can = (from: S, to: S, by?: E) => find(from, to, by) !== undefined;
  const sourcesOf = (to: S, by?: E) => statuses.filter((from) => can(from, to, by));
  return {
    name,
    statuses,
    transitions,
    find,
    can,
    assert(from, to, context = {}) {
      if (!can(from, to, context.by)) throw refuse({ machine: name, from, to, ...context });
    },
    sourcesOf,
    targetsOf: (from) => statuses.filter((to) => can(from, to)),
    isFinal: (status) => !transitions.some((t) => t.from === status),
    move(to, options = {}) {
      const allowed = sourcesOf(to, options.by);
      const from = options.only ?? allowed;
      const stray = from.filter((status) => !allowed.includes(status));
      if (from.length === 0 || stray.length > 0) {
        const by = options.by ? ` by ${options.by}` : "";
        throw new Error(`the ${name} machine does not move ${stray.join(", ") || "anything"} to ${to}${by}`);
      }
      return { from, to };
    },
  };
}

/** Transitions from a table of the statuses each status may move to (machines whose moves need no name). */
export function transitionsFrom<S extends string>(table: Readonly<Record<S, readonly S[]>>): Transition<S, never>[] {
  return (Object.entries(table) as [S, readonly S[]][]).flatMap(([from, targets]) =>
    targets.map((to) => ({ from, to })),
  );
}

/** Transitions from named moves, each from some statuses to one (the outbox relay's claim, deliver, …). */
export function transitionsOfMoves<S extends string, E extends string>(
  moves: Readonly<Record<E, { from: readonly S[]; to: S }>>,
): Transition<S, E>[] {
  return (Object.entries(moves) as [E, { from: readonly S[]; to: S }][]).flatMap(([by, { from, to }]) =>
    from.map((source) => ({ from: source, to, by })),
  );
}
