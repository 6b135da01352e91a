import { DomainError } from "../shared/errors";
import type { Actor, Role } from "./user";

/**
 * The one ownership rule: a BUYER or SELLER acts only on what `ownerId` owns (its own account, order, payment,
 * refund, product, coupon); an ADMIN on anyone's. `refusal` says what was refused.
 */
export function assertOwnerOrAdmin(actor: Actor, ownerId: string, refusal: string): void {
  if (actor.role !== "ADMIN" && actor.userId !== ownerId) throw new DomainError("FORBIDDEN", refusal);
}

/** A BUYER or SELLER acts only on its own resources; an ADMIN on anyone's. */
export function assertActsFor(actor: Actor, userId: string): void {
  assertOwnerOrAdmin(actor, userId, "You may act only on your own resources");
}

export function assertRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.role)) {
    throw new DomainError("FORBIDDEN", `This action needs the role ${roles.join(" or ")}`);
  }
}
