import type { Alert, Alerts } from "../../domain/shared/alerts";
import type { Logger } from "../logger";

const WEBHOOK_TIMEOUT_MS = 5000;

/** Error log line always; a POST of `{ kind, summary, details, raisedAt }` to the webhook when one is set. */
export class LoggedAlerts implements Alerts {
  constructor(
    private readonly logger: Logger,
    private readonly webhookUrl?: string,
  ) {}

  async raise(alert: Alert): Promise<void> {
    this.logger.error({ alert: alert.kind, ...alert.details }, alert.summary);
    if (!this.webhookUrl) return;
    try {
      const res = await fetch(this.webhookUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...alert, raisedAt: new Date().toISOString() }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (!res.ok) this.logger.warn({ alert: alert.kind, status: res.status }, "alert webhook refused the alert");
    } catch (err) {
      this.logger.warn({ alert: alert.kind, err }, "alert webhook unreachable");
    }
  }
}
