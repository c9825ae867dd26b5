import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./env";

// test/support/env.ts reads these when the stack module loads, which is after this file runs:
// the test harness then starts every stack against the bench database and Redis database.
process.env.TEST_DATABASE_URL = BENCH_DATABASE_URL;
process.env.TEST_REDIS_URL = BENCH_REDIS_URL;
// As the Dockerfile runs the processes. Jest sets "test", under which graphql-js checks every
// `instanceOf` for duplicate module realms: 15 % of the CPU of a subscription fan-out.
process.env.NODE_ENV = "production";
