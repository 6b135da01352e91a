import type { Alerts } from "../shared/alerts";
import type { PaymentStatus } from "./payment-status";
import type { GatewayLookup, PaymentGateway } from "./ports";

/** A payment as the reconciliation sees it: ours, and whether its charge was ever sent to the gateway. */
export interface ReconciledPayment {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  /** It reached GATEWAY_REQUESTED: a charge POST may have left. Others were never sent (nothing to ask). */
  reachedGateway: boolean;
}

/** A refund and what our ledger credited for it. */
export interface ReconciledRefund {
  id: string;
  orderId: string;
  status: string;
  amount: number;
  credited: number;
}

export interface ReconciliationReader {
  /** Every payment of the orders that have a payment changed since `since` (or of these orders). */
  payments(scope: { since: Date } | { orderIds: readonly string[] }): Promise<ReconciledPayment[]>;
  refunds(since: Date): Promise<ReconciledRefund[]>;
}

/**
 * What the gateway and our books disagree about. The protocol offers no refund lookup (and asking by
 * POSTing a refund again would make it), so refunds are checked against our own ledger: REFUNDED means
 * the gateway said REFUNDED, and the buyer must have been credited exactly that.
 */
export type Disagreement =
  | { kind: "APPROVED_NOT_COMPLETED"; paymentId: string; orderId: string; status: PaymentStatus; amount: number }
  | { kind: "COMPLETED_NOT_APPROVED"; paymentId: string; orderId: string; gateway: string }
  | { kind: "DOUBLE_CHARGE"; orderId: string; paymentIds: string[] }
  | {
      kind: "REFUNDED_NOT_CREDITED";
      refundId: string;
      orderId: string;
      status: string;
      amount: number;
      credited: number;
    }
  | { kind: "GATEWAY_UNANSWERED"; paymentId: string; orderId: string; reason: string };

export interface ReconciliationReport {
  payments: number;
  asked: number;
  /** Payments still in flight (GATEWAY_REQUESTED): the recovery job settles them; not a disagreement yet. */
  inFlight: number;
  refunds: number;
  disagreements: Disagreement[];
}

/** Gateway lookups at once: enough to get through a day quickly without looking like an attack. */
const LOOKUPS_AT_ONCE = 8;

/**
 * Asks the gateway about every charge we may have sent and compares its answers with our books. Read-only:
 * it settles nothing (confirm and the recovery job do, by their conditional statements); it reports, and
 * the recovery job raises an alert for what it reports.
 */
export class PaymentReconciliation {
  constructor(private readonly deps: { reader: ReconciliationReader; gateway: PaymentGateway; alerts: Alerts }) {}

  async reconcile(scope: { since: Date } | { orderIds: readonly string[] }): Promise<ReconciliationReport> {
    const payments = await this.deps.reader.payments(scope);
    const sent = payments.filter((payment) => payment.reachedGateway);
    const answers = await lookUpAll(sent, (payment) => this.deps.gateway.lookup(payment.id));
    const disagreements: Disagreement[] = [];
    const approvedByOrder = new Map<string, string[]>();
    sent.forEach((payment, i) => {
      const answer = answers[i] as GatewayLookup;
      const { id: paymentId, orderId } = payment;
      if (answer.status === "UNKNOWN") {
        disagreements.push({ kind: "GATEWAY_UNANSWERED", paymentId, orderId, reason: answer.reason });
        return;
      }
      if (answer.status === "APPROVED") {
        approvedByOrder.set(orderId, [...(approvedByOrder.get(orderId) ?? []), paymentId]);
        if (payment.status !== "COMPLETED" && payment.status !== "GATEWAY_REQUESTED") {
          disagreements.push({
            kind: "APPROVED_NOT_COMPLETED",
            paymentId,
            orderId,
            status: payment.status,
            amount: payment.amount,
          });
        }
      } else if (payment.status === "COMPLETED") {
        disagreements.push({ kind: "COMPLETED_NOT_APPROVED", paymentId, orderId, gateway: answer.status });
      }
    });
    for (const [orderId, paymentIds] of approvedByOrder) {
      if (paymentIds.length > 1) disagreements.push({ kind: "DOUBLE_CHARGE", orderId, paymentIds });
    }
    const refunds = "since" in scope ? await this.deps.reader.refunds(scope.since) : [];
    for (const refund of refunds) {
      const owed = refund.status === "REFUNDED" ? refund.amount : 0;
      if (refund.credited !== owed) {
        disagreements.push({
          kind: "REFUNDED_NOT_CREDITED",
          refundId: refund.id,
          orderId: refund.orderId,
          status: refund.status,
          amount: refund.amount,
          credited: refund.credited,
        });
      }
    }
    return {
      payments: payments.length,
      asked: sent.length,
      inFlight: payments.filter((payment) => payment.status === "GATEWAY_REQUESTED").length,
      refunds: refunds.length,
      disagreements,
    };
  }

  /** Raises one alert per disagreement (the recovery job's use); an unanswered lookup is no alert. */
  async alert(disagreements: readonly Disagreement[]): Promise<void> {
    for (const disagreement of disagreements) {
      if (disagreement.kind === "GATEWAY_UNANSWERED") continue;
      const { kind, ...details } = disagreement;
      await this.deps.alerts.raise({ kind: `PAYMENT_${kind}`, summary: describe(disagreement), details });
    }
  }
}

export function describe(disagreement: Disagreement): string {
  switch (disagreement.kind) {
    case "APPROVED_NOT_COMPLETED":
      return `The gateway approved payment ${disagreement.paymentId}, which is ${disagreement.status} here`;
    case "COMPLETED_NOT_APPROVED":
      return `Payment ${disagreement.paymentId} is COMPLETED here, the gateway says ${disagreement.gateway}`;
    case "DOUBLE_CHARGE":
      return `Order ${disagreement.orderId} has ${disagreement.paymentIds.length} approved charges at the gateway`;
    case "REFUNDED_NOT_CREDITED":
      return `Refund ${disagreement.refundId} is ${disagreement.status} for ${disagreement.amount}, the buyer was credited ${disagreement.credited}`;
    case "GATEWAY_UNANSWERED":
      return `The gateway could not be asked about payment ${disagreement.paymentId}: ${disagreement.reason}`;
  }
}

async function lookUpAll<T>(
  items: readonly T[],
  lookup: (item: T) => Promise<GatewayLookup>,
): Promise<GatewayLookup[]> {
  const answers: GatewayLookup[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      answers[i] = await lookup(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_AT_ONCE, items.length) }, worker));
  return answers;
}
