import type { GatewayCharge, GatewayLookup, PaymentGateway } from "../../domain/payments/ports";

/**
 * The built-in gateway (PAYMENT_GATEWAY_URL unset): approves every charge except the amounts listed in
 * PAYMENT_GATEWAY_DECLINE_AMOUNTS, and every refund. It remembers its answers per payment id in this
 * process only: a lookup here of a payment charged through another process is "never received", which is
 * what a real gateway that lost it would say too (the payment fails and the balance is restored).
 */
export class SimulatedGateway implements PaymentGateway {
  readonly #charges = new Map<string, GatewayCharge>();

  constructor(private readonly declineAmounts: readonly number[] = []) {}

  // Answers at once: no POST can be in flight past `sendBy`.
  async charge(
    { paymentId, amount }: { paymentId: string; orderId: string; amount: number },
    _sendBy?: number,
  ): Promise<GatewayCharge> {
    // Idempotent per payment id, as the real protocol is.
    const known = this.#charges.get(paymentId);
    if (known) return known;
    const answer: GatewayCharge = this.declineAmounts.includes(amount)
      ? { status: "DECLINED", reason: "DECLINED_BY_SIMULATOR" }
      : { status: "APPROVED", transactionId: `sim-${paymentId}` };
    this.#charges.set(paymentId, answer);
    return answer;
  }

  async lookup(paymentId: string): Promise<GatewayLookup> {
    const known = this.#charges.get(paymentId);
    if (!known || known.status === "UNKNOWN") return { status: "NOT_FOUND" };
    return known;
  }

  async refund(): Promise<boolean> {
    return true;
  }
}
