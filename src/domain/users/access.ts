import { DomainError } from "../shared/errors";
import type { Actor, Role } from "./user";

/** A BUYER or SELLER acts only on its own resources; an ADMIN on anyone's. */
export function assertActsFor(actor: Actor, userId: string): void {
  if (actor.role !== "ADMIN" && actor.userId !== userId) {
    throw new DomainError("FORBIDDEN", "You may act only on your own resources");
  }
}

export function assertRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.role)) {
    throw new DomainError("FORBIDDEN", `This action needs the role ${roles.join(" or ")}`);
  }
}
