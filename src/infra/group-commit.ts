/**
 * Group commit without a timer (issue 18, "the hot row"), one group per key (an order's product: orders of one hot
 * product group, orders of different products do not wait for each other). A caller whose statement is ready
 * joins its key's group: when nothing of that key is in flight it runs its own path at once (`alone`, in its own
 * async context: its transaction), and it is in flight until that returns. Callers of the key that arrive meanwhile
 * wait, and when the statement in flight returns they go as ONE group (`runGroup`, at most `maxSize` of them, in
 * arrival order); a lone waiter goes alone. So a lone caller costs nothing more, and under load N callers of one
 * key cost one statement, each group formed while the previous one ran.
 *
 * `runGroup` answers each member in order: its outcome, or undefined when the group did not take it; such a member,
 * and every member of a group whose run failed, goes on alone (its exact path), no longer counted in flight.
 */
export class GroupCommit<Item, Outcome> {
  readonly #keys = new Map<string, Waiting<Item, Outcome>[]>();
  /** Groups run, of them failed, members they took and members that went on alone (tests, the bench's figures). */
  readonly stats = { groups: 0, failed: 0, grouped: 0, fellBack: 0 };

  constructor(
    private readonly runGroup: (items: Item[]) => Promise<(Outcome | undefined)[]>,
    private readonly maxSize: number,
    /** Told when a group's run failed as a whole (before its members go on alone): no caller sees it otherwise. */
    private readonly onGroupFailure?: (error: unknown, size: number) => void,
  ) {}

  /** Callers waiting for a statement in flight to return, over every key (tests). */
  get waiting(): number {
    let count = 0;
    for (const waiting of this.#keys.values()) count += waiting.length;
    return count;
  }

  async submit<Alone>(key: string, item: Item, alone: () => Promise<Alone>): Promise<Outcome | Alone> {
    const waiting = this.#keys.get(key);
    if (waiting) {
      const turn = await new Promise<Turn<Outcome>>((resolve) => waiting.push({ item, turn: resolve }));
      if (turn.kind === "taken") return turn.outcome;
      if (turn.kind === "fallback") return alone();
    } else {
      // Nothing of this key in flight: this caller's own statement is the one in flight.
      this.#keys.set(key, []);
    }
    try {
      return await alone();
    } finally {
      this.#next(key);
    }
  }

  /** The key's statement in flight returned: its waiting callers go, as one group (or one alone), or none is left. */
  #next(key: string): void {
    const waiting = this.#keys.get(key) as Waiting<Item, Outcome>[];
    const batch = waiting.splice(0, this.maxSize);
    if (batch.length === 0) {
      this.#keys.delete(key);
      return;
    }
    if (batch.length === 1) {
      (batch[0] as Waiting<Item, Outcome>).turn({ kind: "lead" });
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
        (error: unknown) => {
          this.stats.failed++;
          this.stats.fellBack += batch.length;
          try {
            this.onGroupFailure?.(error, batch.length);
          } catch {
            // Being told must not strand the members: they go on alone below, whatever the listener did.
          }
          for (const member of batch) member.turn({ kind: "fallback" });
        },
      )
      .finally(() => this.#next(key));
  }
}

interface Waiting<Item, Outcome> {
  item: Item;
  turn: (turn: Turn<Outcome>) => void;
}

type Turn<Outcome> = { kind: "lead" } | { kind: "fallback" } | { kind: "taken"; outcome: Outcome };
