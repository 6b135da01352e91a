import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { Actor } from "../users/user";
import type { DayRange, SalesGrouping, SalesRepository, SalesTotal } from "./ports";
import {
  addDays,
  type Day,
  daysBetween,
  FIRST_DAY,
  isShopDay,
  LAST_DAY,
  lastDays,
  monthStart,
  weekStart,
} from "./seoul-days";

export const STATS_DEFAULT_DAYS = 30;
/** The longest range one request may add up (a year, leap day included). */
export const STATS_MAX_DAYS = 366;

export interface SalesStatsQuery {
  from?: Day;
  to?: Day;
  groupBy: SalesGrouping;
}

const PERIODS: Partial<Record<SalesGrouping, (day: Day) => Day>> = {
  day: (day) => day,
  week: weekStart,
  month: monthStart,
};

/**
 * Sales statistics over Seoul days from the daily rollup: what was paid, less what was refunded. ADMIN sees
 * every seller's sales, a SELLER only its own products'. Periods (day, week from Monday, month) are listed
 * whole, with zeros where nothing sold, keyed by their first day; categories, products and sellers are
 * listed by sales amount, largest first.
 */
export class SalesStats {
  constructor(private readonly deps: { sales: SalesRepository; clock: Clock }) {}

  async totals(actor: Actor, query: SalesStatsQuery) {
    if (actor.role === "BUYER") throw new DomainError("FORBIDDEN", "Sales statistics are for sellers and admins");
    const range = this.#range(query);
    const sellerId = actor.role === "SELLER" ? actor.userId : undefined;
    const period = PERIODS[query.groupBy];
    const items = period
      ? periods(await this.deps.sales.totals(range, "day", sellerId), range, period)
      : (await this.deps.sales.totals(range, query.groupBy as "category" | "product" | "seller", sellerId)).sort(
          (a, b) => b.salesAmount - a.salesAmount || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
        );
    return { items, from: range.from, to: range.to, groupBy: query.groupBy };
  }

  #range(query: SalesStatsQuery): DayRange {
    // The route checks this too; the service must not trust it, since its loop and query depend on it.
    for (const [name, day] of [
      ["from", query.from],
      ["to", query.to],
    ] as const) {
      if (day !== undefined && !isShopDay(day)) {
        throw invalid(`${name} (${day}) is outside the statistics range`, `query.${name}`, DAY_RANGE_MESSAGE);
      }
    }
    const today = lastDays(this.deps.clock.now(), 1).to;
    const to = query.to ?? (query.from ? minDay(addDays(query.from, STATS_DEFAULT_DAYS - 1), today) : today);
    const from = query.from ?? addDays(to, 1 - STATS_DEFAULT_DAYS);
    if (from > to) {
      throw invalid(`from (${from}) is after to (${to})`, "query.from", "must not be after to");
    }
    if (daysBetween(from, to) > STATS_MAX_DAYS) {
      throw invalid(
        `The range spans ${daysBetween(from, to)} days`,
        "query.to",
        `at most ${STATS_MAX_DAYS} days after from`,
      );
    }
    return { from, to };
  }
}

export const DAY_RANGE_MESSAGE = `must be between ${FIRST_DAY} and ${LAST_DAY}`;

/**
 * Day totals rolled up into periods, every period of the range listed (zeros where nothing sold). The loop
 * counts days (at most STATS_MAX_DAYS) rather than comparing day strings, so no range can make it endless.
 */
function periods(days: SalesTotal[], range: DayRange, periodOf: (day: Day) => Day): SalesTotal[] {
  const totals = new Map<Day, SalesTotal>();
  const dayCount = Math.min(daysBetween(range.from, range.to), STATS_MAX_DAYS);
  for (let offset = 0; offset < dayCount; offset++) {
    const key = periodOf(addDays(range.from, offset));
    if (!totals.has(key)) totals.set(key, { key, orderCount: 0, quantity: 0, salesAmount: 0 });
  }
  for (const row of days) {
    const total = totals.get(periodOf(row.key)) as SalesTotal;
    total.orderCount += row.orderCount;
    total.quantity += row.quantity;
    total.salesAmount += row.salesAmount;
  }
  return [...totals.values()];
}

const minDay = (a: Day, b: Day) => (a < b ? a : b);

const invalid = (detail: string, path: string, message: string) =>
  new DomainError("VALIDATION_FAILED", detail, [{ path, message }]);
