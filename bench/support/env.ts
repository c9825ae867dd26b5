/**
 * Where the benches find PostgreSQL and Redis: their own database and Redis database, so the
 * seeded corpus (10,000 servers) and the load never touch what the tests use. Override with
 * BENCH_DATABASE_URL / BENCH_REDIS_URL.
 */
export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/sprintconnect_bench";
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/14";
