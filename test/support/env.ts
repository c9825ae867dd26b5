import { cliEnvSchema, parseEnv, resolveAppDatabaseUrl } from "../../packages/core/src/config";

/** Where the tests find PostgreSQL and Redis; override with TEST_DATABASE_URL / TEST_REDIS_URL. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/sprintconnect_test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";
/** The in-process stacks' log level (`TEST_LOG_LEVEL=error npx jest …` shows why a request failed). */
export const TEST_LOG_LEVEL = (process.env.TEST_LOG_LEVEL ?? "silent") as "silent";

/**
 * How the application connects to the test database, as in a deployment: the role
 * `<database>_app` that the global setup grants after migrating (TEST_DATABASE_URL is the owner).
 */
export const TEST_APP_DATABASE_URL = appDatabaseUrl(TEST_DATABASE_URL);

/** The application role's connection string for a test database whose owner connects with `ownerUrl`. */
export function appDatabaseUrl(ownerUrl: string): string {
  return resolveAppDatabaseUrl(parseEnv(cliEnvSchema, { APP_ENV: "development", DATABASE_URL: ownerUrl }));
}

/** Runs `fn` with `vars` set in this process's environment (for in-process CLI commands), then restores it. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
