/**
 * Calendar days as the shop counts them: in Asia/Seoul, written `YYYY-MM-DD`. Korea has kept UTC+9 without
 * daylight saving since 1988, so a fixed offset is exact for every sale this shop can hold, and needs no
 * time zone database (PGlite and a compiled binary need not ship one).
 */
const SEOUL_OFFSET_MS = 9 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** A `YYYY-MM-DD` calendar day. */
export type Day = string;

/**
 * The days the shop answers questions about (the contract's range). Beyond them `Date` arithmetic leaves the
 * four-digit form (`addDays("9999-12-31", 1)` is `"+010000-01-01"`, which sorts before every real day) and
 * PostgreSQL has no year 0: no day outside this range may reach a loop or a query.
 */
export const FIRST_DAY: Day = "2000-01-01";
export const LAST_DAY: Day = "2100-12-31";

/** Whether `day` (a valid `YYYY-MM-DD`) lies in the shop's range, both ends included. */
export const isShopDay = (day: Day) => day >= FIRST_DAY && day <= LAST_DAY;

/** The Seoul calendar day `moment` falls on. */
export function seoulDay(moment: Date): Day {
  return new Date(moment.getTime() + SEOUL_OFFSET_MS).toISOString().slice(0, 10);
}

/** When the Seoul day `day` begins, as an instant. */
export function seoulDayStart(day: Day): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) - SEOUL_OFFSET_MS);
}

export function addDays(day: Day, days: number): Day {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both counted (1 for the same day). */
export function daysBetween(from: Day, to: Day): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** Whether `text` is a real calendar day written `YYYY-MM-DD` (no 2026-02-30). */
export function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const parsed = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(parsed) && new Date(parsed).toISOString().slice(0, 10) === text;
}

/** The Monday that starts the (ISO) week of `day`. */
export function weekStart(day: Day): Day {
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

/** The first day of the month of `day`. */
export function monthStart(day: Day): Day {
  return `${day.slice(0, 8)}01`;
}

/** The `days` Seoul days that end with the one `now` falls on. */
export function lastDays(now: Date, days: number): { from: Day; to: Day } {
  const to = seoulDay(now);
  return { from: addDays(to, 1 - days), to };
}
