import { ensureDatabase, migrate } from "../../packages/core/src/db/migrate";
import { TEST_DATABASE_URL } from "./env";

/** Creates the test database if needed and applies the migrations, once per run. */
export default async function globalSetup(): Promise<void> {
  await ensureDatabase(TEST_DATABASE_URL);
  await migrate(TEST_DATABASE_URL);
}
