import type { DatabaseHandle } from "../../src/infra/db/client";
import type { TestServices } from "./test-services";

declare global {
  var kicksTest: { services: TestServices; embedded: DatabaseHandle | undefined; migrationsDir: string };
}
