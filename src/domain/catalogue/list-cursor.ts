import { validationFailed } from "../shared/errors";
import type { KeysetPosition, ProductSort } from "./ports";

/** What a product list cursor carries: where the next page starts, for which query. */
export interface CursorState {
  sort: ProductSort;
  /** The list's filters, canonicalised: a cursor only continues the query that issued it. */
  filter: string;
  position: KeysetPosition;
  /** The page number the cursor leads to, echoed as `page` in the response. */
  page: number;
}

const SIGNATURE_LENGTH = 22; // 128 bits of an HMAC-SHA256, base64url

const invalidCursor = (why: string) => validationFailed("query.cursor", why);

/**
 * Opaque, tamper-proof keyset cursors: base64url JSON signed with an HMAC of the deployment's secret, so
 * every instance accepts every other's cursors and a client cannot forge a position (or make us parse
 * arbitrary JSON into a query). Anything off is a 400 on `query.cursor`, never a 500.
 */
export class ListCursors {
  readonly #key: string;

  constructor(secret: string) {
    this.#key = `product-cursor:${secret}`;
  }

  encode(state: CursorState): string {
    const payload = Buffer.from(
      JSON.stringify([state.sort, state.filter, state.position.key, state.position.id, state.page]),
    ).toString("base64url");
    return `${payload}.${this.#sign(payload)}`;
  }

  decode(cursor: string, expected: { sort: ProductSort; filter: string }): CursorState {
    const [payload, signature, ...rest] = cursor.split(".");
    if (!payload || signature !== this.#sign(payload) || rest.length > 0) {
      throw invalidCursor("is not a cursor this API issued (use nextCursor as given)");
    }
    const [sort, filter, key, id, page] = JSON.parse(Buffer.from(payload, "base64url").toString()) as unknown[];
    if (sort !== expected.sort || filter !== expected.filter) {
      throw invalidCursor("belongs to a list with other filters or another sort; send the same query with it");
    }
    return { ...expected, position: { key: key as string | number, id: id as string }, page: page as number };
  }

  #sign(payload: string): string {
    return new Bun.CryptoHasher("sha256", this.#key).update(payload).digest("base64url").slice(0, SIGNATURE_LENGTH);
  }
}
