import type { BatchReport } from "../../domain/outbox/ports";
import type { RelayConfig } from "../../wiring/outbox-relay";

/** Main thread → relay worker. */
export type ToRelayWorker = { kind: "start"; config: RelayConfig } | { kind: "stop" };

/** Relay worker → main thread: its batch reports feed the main thread's /metrics. */
export type FromRelayWorker =
  | { kind: "started" }
  | { kind: "report"; report: BatchReport }
  | { kind: "failed"; error: string }
  /** The relay starts no more tries; the ones in flight are ending. */
  | { kind: "stopping" }
  | { kind: "stopped" };
