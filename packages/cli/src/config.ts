import { resolve } from "node:path";
import {
  type CliEnv,
  cliEnvSchema,
  createPrisma,
  type PrismaClient,
  parseEnv,
  resolveAppDatabaseUrl,
} from "@sprintconnect/core";

/** The CLI's configuration; a ConfigError (every invalid variable) is reported by main. */
export function loadEnv(): CliEnv {
  return parseEnv(cliEnvSchema, process.env);
}

/** A Prisma client, as the application role, with the few connections a one-shot command needs. */
export function connect(env: CliEnv): PrismaClient {
  return createPrisma({
    DATABASE_URL: resolveAppDatabaseUrl(env),
    DATABASE_POOL_SIZE: 2,
    DATABASE_MAX_OVERFLOW: 0,
  });
}

/** The repository root, whether this file runs from src/ or dist/. */
export const REPO_ROOT = resolve(__dirname, "../../..");
