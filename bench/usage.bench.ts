import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  createPrisma,
  floorHour,
  gatewayEnvSchema,
  type PrismaClient,
  parseEnv,
  resolveKeys,
  rollUpUsage,
} from "@sprintconnect/core";
import { appDatabaseUrl } from "../test/support/env";
import { waitFor } from "../test/support/wait";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./support/env";
import { type LoadResult, runLoad } from "./support/load";
import { freePort, postgresBackends, processCpuMs } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";
import { summarize } from "./support/stats";

/**
 * What metering costs and how its reads scale, with every process on its own as `npm start`
 * runs them:
 *
 * 1. Gateway throughput with usage recording on and off (`USAGE_RECORDING`), authenticated
 *    `{ __typename }` (the request the gateway answers alone, so the recording's share is the
 *    largest it can be), the two gateways measured alternately, twice each, in the same run.
 * 2. `GET /v1/metrics/usage` for a 30-day range over BENCH_USAGE_EVENTS raw events (default
 *    10 million) after they are rolled up, grouped by server and day, against the same request
 *    for one hour of raw tail in the same run, and against the same totals summed straight from
 *    the raw events (what reading without rollups would cost).
 */

const ROOT = resolve(__dirname, "..");
const EVENTS = Number(process.env.BENCH_USAGE_EVENTS ?? 10_000_000);
const CONCURRENCY = 10;
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const READS = 30;

let db: PrismaClient;
const processes: ChildProcess[] = [];
const shared: Record<string, string> = {};

beforeAll(() => {
  db = createPrisma({
    DATABASE_URL: appDatabaseUrl(BENCH_DATABASE_URL),
    DATABASE_POOL_SIZE: 2,
    DATABASE_MAX_OVERFLOW: 0,
  });
});
afterAll(async () => {
  for (const child of processes) child.kill("SIGTERM");
  await db?.$disconnect();
});

async function startProcess(label: string, script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      APP_ENV: "development",
      LOG_LEVEL: "warn",
      DATABASE_URL: BENCH_DATABASE_URL,
      REDIS_URL: BENCH_REDIS_URL,
      RATE_LIMIT_REQUESTS_PER_MINUTE: "100000000",
      RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000000",
      QUOTA_REQUESTS_PER_DAY: "1000000000",
      ...shared,
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  processes.push(child);
  const port = env.GATEWAY_PORT ?? env.PORT;
  await waitFor(
    `${label} to answer /health`,
    async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok,
    60_000,
    200,
  );
  return child;
}

describe("usage metering", () => {
  let apiKey: string;
  let organizationId: string;
  let metricsUrl: string;

  beforeAll(async () => {
    const material = resolveKeys(parseEnv(gatewayEnvSchema, { DATABASE_URL: BENCH_DATABASE_URL }));
    Object.assign(shared, {
      JWT_SECRET_KEY:
        typeof material.jwtPrivateJwk === "string" ? material.jwtPrivateJwk : JSON.stringify(material.jwtPrivateJwk),
      API_KEY_ENCRYPTION_KEY: material.apiKeyPepper,
      APP_DATABASE_URL: appDatabaseUrl(BENCH_DATABASE_URL),
    });
    const org = await createOrganization(db, material.apiKeyPepper, {
      name: `Bench usage ${Date.now().toString(36)}`,
      ownerEmail: `bench-usage-${Date.now().toString(36)}@example.test`,
    });
    apiKey = org.apiKey;
    organizationId = org.organizationId;
    const metricsPort = await freePort();
    await startProcess("metrics subgraph", "subgraphs/metrics/dist/main.js", { PORT: String(metricsPort) });
    metricsUrl = `http://127.0.0.1:${metricsPort}/graphql`;
  });

  it("prints gateway requests/s with usage recording on and off", async () => {
    const registryPort = await freePort();
    await startProcess("registry subgraph", "subgraphs/registry/dist/main.js", { PORT: String(registryPort) });
    const gateways: Array<{ label: string; url: string; pid: number }> = [];
    for (const [label, recording] of [
      ["recording off", "false"],
      ["recording on", "true"],
    ] as const) {
      const port = await freePort();
      const child = await startProcess(`gateway, ${label}`, "gateway/dist/main.js", {
        GATEWAY_PORT: String(port),
        REGISTRY_SUBGRAPH_URL: `http://127.0.0.1:${registryPort}/graphql`,
        METRICS_SUBGRAPH_URL: metricsUrl,
        USAGE_RECORDING: recording,
      });
      gateways.push({ label, url: `http://127.0.0.1:${port}/graphql`, pid: child.pid as number });
    }
    const body = JSON.stringify({ query: "{ __typename }" });
    const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    const runs: Array<{ label: string; round: number; gatewayCpuMs: number; postgresCpuMs: number } & LoadResult> = [];
    const database = new URL(BENCH_DATABASE_URL).pathname.slice(1);
    const postgresCpu = () => postgresBackends(database).reduce((n, pid) => n + (processCpuMs(pid) || 0), 0);
    const before = await db.usageEvent.count({ where: { organizationId, kind: "api.request" } });
    for (const round of [1, 2]) {
      for (const gateway of gateways) {
        progress(`${gateway.label}, round ${round}: ${CONCURRENCY} connections, ${DURATION_MS / 1000} s`);
        const gatewayBefore = processCpuMs(gateway.pid);
        const postgresBefore = postgresCpu();
        const result = await runLoad({
          url: gateway.url,
          method: "POST",
          headers,
          body,
          concurrency: CONCURRENCY,
          warmupMs: WARMUP_MS,
          durationMs: DURATION_MS,
          maxRequests: 1_000_000,
          expectStatus: 200,
        });
        // Per request of the whole run (warm-up included), as the CPU counters cover it.
        const all = result.requests * ((WARMUP_MS + result.elapsedMs) / result.elapsedMs);
        runs.push({
          label: gateway.label,
          round,
          gatewayCpuMs: (processCpuMs(gateway.pid) - gatewayBefore) / all,
          // Backends that came and went in between are missed: a lower bound.
          postgresCpuMs: (postgresCpu() - postgresBefore) / all,
          ...result,
        });
      }
    }
    const mean = (label: string) => {
      const mine = runs.filter((r) => r.label === label);
      return mine.reduce((n, r) => n + r.rps, 0) / mine.length;
    };
    const off = mean("recording off");
    printTable(
      "usage recording: authenticated { __typename } through the gateway, alternating",
      [
        "gateway",
        "round",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "gateway CPU ms/req",
        "PostgreSQL CPU ms/req",
        "÷ off (mean)",
      ],
      runs.map((r) => [
        r.label,
        r.round,
        r.requests,
        r.errors,
        r.rps,
        r.latency.p50,
        r.latency.p99,
        r.gatewayCpuMs.toFixed(3),
        r.postgresCpuMs.toFixed(3),
        (r.rps / off).toFixed(3),
      ]),
      `on ÷ off, means of both rounds: ${(mean("recording on") / off).toFixed(3)} (goal ≥ 0.95).\n${conditionsNote()}`,
    );
    // The recording gateway wrote its requests (flushed each second): none lost.
    await new Promise((r) => setTimeout(r, 2_000));
    const written = (await db.usageEvent.count({ where: { organizationId, kind: "api.request" } })) - before;
    const onRequests = runs.filter((r) => r.label === "recording on").reduce((n, r) => n + r.requests, 0);
    progress(
      `api.request events written by the recording gateway: ${written} (measured requests ${onRequests}, plus warm-ups)`,
    );
    await writeResults("usage-recording", { runs, ratio: mean("recording on") / off, written });
    expect(written).toBeGreaterThanOrEqual(onRequests);
    for (const r of runs) expect(r.errors).toBe(0);
  });

  it(`prints /v1/metrics/usage p95 over ${EVENTS.toLocaleString("en")} events for 30 days, from rollups`, async () => {
    const gatewayPort = await freePort();
    await startProcess("gateway", "gateway/dist/main.js", {
      GATEWAY_PORT: String(gatewayPort),
      METRICS_SUBGRAPH_URL: metricsUrl,
    });
    const end = floorHour(new Date(Date.now() - 10 * 60_000));
    const start = new Date(end.getTime() - 30 * 86_400_000);
    progress(`seeding ${EVENTS.toLocaleString("en")} usage events over 30 days`);
    const seeded = Date.now();
    const chunk = 1_000_000;
    for (let done = 0; done < EVENTS; done += chunk) {
      const n = Math.min(chunk, EVENTS - done);
      // 50 servers, 20 users, 4 kinds, 3 models, spread evenly over the 30 days.
      await db.$executeRaw`
        INSERT INTO "UsageEvent" (id, "organizationId", kind, "serverId", "userId", model, "toolName", "inputTokens",
                                  "outputTokens", "costUsd", "durationMs", success, "occurredAt")
        SELECT gen_random_uuid(), ${organizationId}::uuid,
               (ARRAY['api.request','chat.tool_call','chat.model_call','health.check'])[1 + i % 4],
               md5('server' || (i % 50))::uuid, md5('user' || (i % 20))::uuid,
               CASE WHEN i % 4 = 2 THEN (ARRAY['gpt','claude','local'])[1 + i % 3] END,
               CASE WHEN i % 4 = 1 THEN 'tool_' || (i % 7) END,
               i % 100, i % 50, (i % 10) * 0.0001, i % 900, i % 13 <> 0,
               ${start}::timestamptz + ((i::float8 / ${EVENTS}) * interval '30 days')
          FROM generate_series(${done}::bigint, ${done + n - 1}::bigint) AS i`;
      progress(`  ${(done + n).toLocaleString("en")} in ${((Date.now() - seeded) / 1000).toFixed(0)} s`);
    }
    progress("rolling up");
    const rolling = Date.now();
    await db.usageRollupState.upsert({
      where: { id: 1 },
      create: { id: 1, rolledUntil: start },
      update: { rolledUntil: start },
    });
    let hours = 0;
    for (;;) {
      const { hours: h } = await rollUpUsage(db, new Date(), { graceMs: 5 * 60_000, lookbackHours: 0, maxHours: 200 });
      hours += h;
      if (h < 200) break;
    }
    const rollupSeconds = (Date.now() - rolling) / 1000;
    progress(`rolled ${hours} hours in ${rollupSeconds.toFixed(0)} s`);

    const headers = { authorization: `Bearer ${apiKey}` };
    const time = async (path: string) => {
      const samples: number[] = [];
      for (let i = 0; i < READS; i++) {
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${gatewayPort}${path}`, { headers });
        const body = (await res.json()) as { items?: unknown[] };
        samples.push(performance.now() - t0);
        expect(res.status).toBe(200);
        expect(body.items?.length).toBeGreaterThan(0);
      }
      return summarize(samples);
    };
    const range = `from=${start.toISOString()}&to=${new Date().toISOString()}`;
    const month = await time(`/v1/metrics/usage?${range}&groupBy=server&interval=day&limit=1000`);
    const tail = await time(
      `/v1/metrics/usage?from=${end.toISOString()}&to=${new Date().toISOString()}&groupBy=server&limit=1000`,
    );
    // What the same 30-day totals cost summed from the raw events (3 runs).
    const raw: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await db.$queryRaw`
        SELECT date_trunc('day', "occurredAt"), "serverId", count(*), sum("costUsd") FROM "UsageEvent"
         WHERE "organizationId" = ${organizationId}::uuid AND "occurredAt" >= ${start} GROUP BY 1, 2`;
      raw.push(performance.now() - t0);
    }
    const rawSummary = summarize(raw);
    printTable(
      `GET /v1/metrics/usage, ${EVENTS.toLocaleString("en")} events over 30 days (rolled up: ${hours} hours in ${rollupSeconds.toFixed(0)} s), ${READS} sequential requests`,
      ["request", "p50 ms", "p95 ms", "÷ 1-hour tail p95"],
      [
        ["30 days, by server and day (daily rollups + tail)", month.p50, month.p95, (month.p95 / tail.p95).toFixed(2)],
        ["last hour, by server (raw tail only)", tail.p50, tail.p95, "1.00"],
        [
          "30 days summed from raw events (SQL only, 3 runs)",
          rawSummary.p50,
          rawSummary.p95,
          (rawSummary.p95 / tail.p95).toFixed(2),
        ],
      ],
      `Goal: the 30-day summary's p95 stays near a small request's, far below the raw scan.\n${conditionsNote()}`,
    );
    await writeResults("usage-reads", { events: EVENTS, hours, rollupSeconds, month, tail, raw: rawSummary });
  });
});
