import { bigint, timestamp } from "drizzle-orm/pg-core";

/** Money: an integer number of KRW. Amounts stay far below 2^53, so `bigint` columns are read as JS numbers. */
export const krw = () => bigint({ mode: "number" });

/** A moment, to the millisecond (what JavaScript dates hold), with its time zone. */
export const at = () => timestamp({ withTimezone: true, precision: 3 });
