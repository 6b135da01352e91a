/**
 * Group commit without a timer (issue 18, "the hot row"). A caller whose statement is ready joins: when nothing is
 * in flight it runs its own path at once (`alone`, in its own async context: its transaction), and it is in flight
 * until that returns. Callers that arrive meanwhile wait, and when the statement in flight returns they go as ONE
 * group (`runGroup`, at most `maxSize` of them, in arrival order); a lone waiter goes alone. So a lone caller costs
 * nothing more, and under load N callers cost one statement, each group formed while the previous one ran.
 *
 * `runGroup` answers each member in order: its outcome, or undefined when the group did not take it; such a member,
 * and every member of a group whose run failed, goes on alone (its exact path), no longer counted in flight.
 */
export class GroupCommit<Item, Outcome> {
  #inFlight = false;
  readonly #waiting: { item: Item; turn: (turn: Turn<Outcome>) => void }[] = [];
  /** Groups run, of them failed, members they took and members that went on alone (tests, the bench's figures). */
  readonly stats = { groups: 0, failed: 0, grouped: 0, fellBack: 0 };

  constructor(
    private readonly runGroup: (items: Item[]) => Promise<(Outcome | undefined)[]>,
    private readonly maxSize: number,
  ) {}

  /** Callers waiting for the statement in flight to return (tests). */
  get waiting(): number {
    return this.#waiting.length;
  }

  async submit<Alone>(item: Item, alone: () => Promise<Alone>): Promise<Outcome | Alone> {
    if (this.#inFlight) {
      const turn = await new Promise<Turn<Outcome>>((resolve) => this.#waiting.push({ item, turn: resolve }));
      if (turn.kind === "taken") return turn.outcome;
      if (turn.kind === "fallback") return alone();
    }
    // Nothing in flight (or this caller's turn came alone): its own statement is the one in flight.
    this.#inFlight = true;
    try {
      return await alone();
    } finally {
      this.#next();
    }
  }

  /** The statement in flight returned: the callers waiting go, as one group (or the one alone), or nothing is left. */
  #next(): void {
    const batch = this.#waiting.splice(0, this.maxSize);
    if (batch.length === 0) {
      this.#inFlight = false;
      return;
    }
    if (batch.length === 1) {
      (batch[0] as (typeof batch)[number]).turn({ kind: "lead" });
      return;
    }
    this.stats.groups++;
    this.runGroup(batch.map((member) => member.item))
      .then(
        (outcomes) =>
          batch.forEach((member, i) => {
            const outcome = outcomes[i];
            if (outcome === undefined) this.stats.fellBack++;
            else this.stats.grouped++;
            member.turn(outcome === undefined ? { kind: "fallback" } : { kind: "taken", outcome });
          }),
        () => {
          this.stats.failed++;
          this.stats.fellBack += batch.length;
          for (const member of batch) member.turn({ kind: "fallback" });
        },
      )
      .finally(() => this.#next());
  }
}

type Turn<Outcome> = { kind: "lead" } | { kind: "fallback" } | { kind: "taken"; outcome: Outcome };
