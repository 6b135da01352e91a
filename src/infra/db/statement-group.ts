/**
 * Group commit in the process, without a timer (issue 18, "the hot row"): members that would each be sent as a
 * statement of their own, each committing by itself, go together as one statement when they arrive while another
 * is in flight. A member that finds nothing in flight is sent at once, alone (`one`: it costs what it cost
 * before); members arriving while a statement is in flight wait for it to return and then go together (`many`,
 * at most `maxSize` of them), so N concurrent members cost one statement, one lock hold of each row they share
 * and one commit, and no member waits longer than the statement in flight before it.
 *
 * A group that fails as a whole (one member that cannot go, a deadlock, a lost connection) is sent again as its
 * members, each alone (`one`), side by side: one bad member never fails the others, and each caller gets the
 * outcome its own statement gives. Two members with the same key never share a group (`many` may rely on it): the
 * later one waits for the next.
 *
 * One statement (a group or its members' fallback) is in flight per StatementGroup at a time, for at most
 * `patienceMs` as far as the waiting members are concerned: one that has not returned by then is waiting (on a row
 * lock of its own members' rows, a sick server), not working, and the members waiting behind it, and those that
 * arrive until it returns, are each sent alone at once, as without a group. A member then waits only on its own
 * rows: one stuck product's completion never holds back the completions of others. Grouping resumes when the
 * stuck statement returns.
 */
export interface StatementGroupOptions<In, Out> {
  /** The most members one grouped statement takes. */
  maxSize: number;
  /** What makes two members the same: never two of a key in one group. */
  keyOf: (input: In) => string;
  /** A member sent alone: when nothing waits with it, and when its group failed. */
  one: (input: In) => Promise<Out>;
  /** Two or more members (distinct keys) in one statement: each one's outcome, in the order given. */
  many: (inputs: readonly In[]) => Promise<Out[]>;
  /**
   * How long members wait behind the statement in flight before they stop waiting for it and go alone (see the
   * class). Undefined: they wait for it however long it takes.
   */
  patienceMs?: number;
  /** Told when a group failed as a whole (before its members are sent alone). */
  onGroupFailure?: (error: unknown, size: number) => void;
}

interface Member<In, Out> {
  input: In;
  key: string;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

export class StatementGroup<In, Out> {
  #waiting: Member<In, Out>[] = [];
  #inFlight = false;
  /** The statement in flight has run past patienceMs: members go alone until it returns. */
  #stalled = false;

  constructor(private readonly options: StatementGroupOptions<In, Out>) {
    if (options.maxSize < 1) throw new Error("a statement group takes at least one member");
  }

  /** Sends `input` alone now, or with the members waiting with it once the statement in flight returns. */
  run(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const member = { input, key: this.options.keyOf(input), resolve, reject };
      if (this.#stalled) return void this.#alone(member);
      this.#waiting.push(member);
      if (!this.#inFlight) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    try {
      while (this.#waiting.length > 0) {
        const patience = this.options.patienceMs;
        const timer = patience === undefined ? undefined : setTimeout(() => this.#stall(), patience);
        try {
          await this.#send(this.#take());
        } finally {
          clearTimeout(timer);
          this.#stalled = false;
        }
      }
    } finally {
      this.#inFlight = false;
    }
  }

  /** The statement in flight is past its patience: whoever waits behind it goes alone, now and until it returns. */
  #stall(): void {
    this.#stalled = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const member of waiting) void this.#alone(member);
  }

  /** The next group: waiting members in arrival order, one of each key, at most maxSize. */
  #take(): Member<In, Out>[] {
    const taken: Member<In, Out>[] = [];
    const left: Member<In, Out>[] = [];
    const keys = new Set<string>();
    for (const member of this.#waiting) {
      if (taken.length < this.options.maxSize && !keys.has(member.key)) {
        keys.add(member.key);
        taken.push(member);
      } else left.push(member);
    }
    this.#waiting = left;
    return taken;
  }

  async #send(group: Member<In, Out>[]): Promise<void> {
    if (group.length === 1) return this.#alone(group[0] as Member<In, Out>);
    let outcomes: Out[];
    try {
      outcomes = await this.options.many(group.map((member) => member.input));
      if (outcomes.length !== group.length) throw new Error("a grouped statement answered for another group");
    } catch (error) {
      try {
        this.options.onGroupFailure?.(error, group.length);
      } catch {
        // Being told must not strand the members: they are sent alone below, whatever the listener did.
      }
      await Promise.all(group.map((member) => this.#alone(member)));
      return;
    }
    for (const [i, member] of group.entries()) member.resolve(outcomes[i] as Out);
  }

  async #alone(member: Member<In, Out>): Promise<void> {
    try {
      member.resolve(await this.options.one(member.input));
    } catch (error) {
      member.reject(error);
    }
  }
}
