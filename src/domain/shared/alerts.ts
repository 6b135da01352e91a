/**
 * Something needs a person: an outbox event that cannot be delivered, a refund out of tries. Raising one
 * logs it at error level and, with ALERT_WEBHOOK_URL set, POSTs it there (contract: "Outbox and data platform").
 */
export interface Alert {
  /** Stable identifier of what happened, e.g. `OUTBOX_EVENT_ALERTED`. */
  kind: string;
  summary: string;
  details: Record<string, unknown>;
}

export interface Alerts {
  /** Never rejects: an alert that cannot be sent is logged, and must not fail the work that raised it. */
  raise(alert: Alert): Promise<void>;
}
