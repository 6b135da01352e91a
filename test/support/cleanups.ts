import { afterEach } from "bun:test";
import { type SinkResponder, startHoldingSink, startSink } from "./event-sink";

/**
 * What a test starts (sinks, relays, apps) is stopped after it, newest first, whether it passed or not, so a
 * failing test leaves no server or relay behind for the next one.
 */
export function cleanupAfterEach() {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const defer = (cleanup: () => unknown) => {
    cleanups.push(cleanup);
  };
  return {
    defer,
    sink(respond?: SinkResponder) {
      const sink = startSink(respond);
      defer(() => sink.stop());
      return sink;
    },
    holdingSink(aggregateId: string) {
      const sink = startHoldingSink(aggregateId);
      defer(() => sink.stop());
      return sink;
    },
  };
}
