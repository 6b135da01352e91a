import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

/** Parameterised paths remembered per method (a drop's hot product page); the table starts over when full. */
const REMEMBERED_PATHS = 1024;
/** Longer paths are matched every time: a remembered path must not cost more memory than it saves time. */
const REMEMBERED_PATH_LENGTH = 256;

/**
 * The app's router. Hono's default (SmartRouter) tries the RegExpRouter first, which cannot take this route set:
 * the contract puts fixed and parameterised segments side by side (`/products/popular` and
 * `/products/{productId}`, `/payments/process` and `/payments/{paymentId}`, `/coupons/issue` and
 * `/coupons/{couponId}`), which its one regular expression refuses, so every request fell back to the
 * TrieRouter after a failed build. This router takes the whole set without a fallback: the TrieRouter builds the
 * matches, and a table answers
 * - every fixed path of the app (`/healthz`, `/api/v1/products`, `/api/v1/products/popular`, …), computed once
 *   for every method at the first request, and
 * - the parameterised paths asked lately (bounded per method),
 * with one Map lookup instead of a walk of the trie. A match depends only on (method, path), and Hono only reads
 * a match, so one result serves every request for the same path (Hono's RegExpRouter shares its static matches
 * the same way).
 */
export class StaticFirstRouter<T> implements Router<T> {
  readonly name = "StaticFirstRouter";
  readonly #trie = new TrieRouter<T>();
  readonly #fixedPaths = new Set<string>();
  readonly #methods = new Set<string>(["GET"]);
  #fixed: Map<string, Map<string, Result<T>>> | undefined;
  readonly #recent = new Map<string, Map<string, Result<T>>>();

  add(method: string, path: string, handler: T): void {
    if (this.#fixed) throw new Error("Can not add a route since the matcher is already built.");
    this.#trie.add(method, path, handler);
    if (method !== "ALL") this.#methods.add(method);
    if (!/[:*?]/.test(path)) this.#fixedPaths.add(path);
  }

  match(method: string, path: string): Result<T> {
    this.#fixed ??= this.#buildFixed();
    const fixed = this.#fixed.get(method)?.get(path);
    if (fixed) return fixed;
    if (path.length > REMEMBERED_PATH_LENGTH || !this.#methods.has(method)) return this.#trie.match(method, path);
    let recent = this.#recent.get(method);
    if (!recent) {
      recent = new Map();
      this.#recent.set(method, recent);
    }
    let result = recent.get(path);
    if (!result) {
      result = this.#trie.match(method, path);
      if (recent.size >= REMEMBERED_PATHS) recent.clear();
      recent.set(path, result);
    }
    return result;
  }

  /** How a request for (method, path) is matched: by the fixed table, the recent table or the trie. */
  describe(method: string, path: string): "fixed" | "recent" | "trie" {
    if (this.#fixed?.get(method)?.has(path)) return "fixed";
    return this.#recent.get(method)?.has(path) ? "recent" : "trie";
  }

  #buildFixed(): Map<string, Map<string, Result<T>>> {
    const table = new Map<string, Map<string, Result<T>>>();
    for (const method of this.#methods) {
      const paths = new Map<string, Result<T>>();
      for (const path of this.#fixedPaths) paths.set(path, this.#trie.match(method, path));
      table.set(method, paths);
    }
    return table;
  }
}
