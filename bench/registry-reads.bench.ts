import { effectiveScopes, INTERNAL_TOKEN_HEADER, InternalTokenSigner } from "@sprintconnect/core";
import { Pool } from "pg";
import { appDatabaseUrl } from "../test/support/env";
import { createTestOrg, type Stack, type TestOrg } from "../test/support/stack";
import { BENCH_DATABASE_URL } from "./support/env";
import { type LoadResult, runLoad } from "./support/load";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, startBenchStack } from "./support/stack";

/**
 * The registry's hot reads served by the registry subgraph directly (the internal token the
 * gateway would send), beside the same rows read straight from PostgreSQL with `pg` and a named
 * prepared statement, in one run: the ratio is what the goal is stated in. The subgraph
 * runs in this process (test/support/stack.ts); the HTTP client is a child process.
 */
const CONCURRENCY = 10;
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const ROWS = 20;

const LIST = `{ mcpServers(limit: ${ROWS}) { items { id name baseUrl tags environment health { status lastCheckedAt latencyMs } } nextCursor } }`;
const BY_ID = (id: string) =>
  `{ mcpServer(id: "${id}") { id name baseUrl tags environment health { status lastCheckedAt latencyMs } } }`;

let stack: Stack;
let org: TestOrg;
let pool: Pool;

beforeAll(async () => {
  stack = await startBenchStack();
  org = await createTestOrg(stack, "Bench registry reads");
  await stack.db.mcpServer.createMany({
    data: Array.from({ length: ROWS + 5 }, (_, i) => ({
      organizationId: org.organizationId,
      name: `bench-reads-${i}`,
      baseUrl: `https://mcp${i}.example.test/mcp`,
      tags: ["bench", `t${i % 3}`],
      healthStatus: "healthy" as const,
      lastHealthCheckAt: new Date(),
      healthLatencyMs: 10 + i,
    })),
  });
  pool = new Pool({ connectionString: appDatabaseUrl(BENCH_DATABASE_URL), max: CONCURRENCY, options: "-c jit=off" });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await stack?.close();
});

/** `CONCURRENCY` loops of raw pg reads in this process for `DURATION_MS` after a warm-up. */
async function rawPg(organizationId: string): Promise<{ rps: number; cpuMsPerRead: number }> {
  const read = () =>
    pool.query({
      name: "bench-registry-list",
      text: `SELECT id, name, "baseUrl", tags, environment, "healthStatus", "lastHealthCheckAt", "healthLatencyMs", "createdAt"
               FROM "McpServer" WHERE "organizationId" = $1 AND "deletedAt" IS NULL
              ORDER BY "createdAt" DESC, id DESC LIMIT $2`,
      values: [organizationId, ROWS + 1],
    });
  const run = async (ms: number) => {
    let count = 0;
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < end) {
          await read();
          count++;
        }
      }),
    );
    return count;
  };
  await run(WARMUP_MS);
  const cpu = process.cpuUsage();
  const started = Date.now();
  const count = await run(DURATION_MS);
  const used = process.cpuUsage(cpu);
  return { rps: count / ((Date.now() - started) / 1000), cpuMsPerRead: (used.user + used.system) / 1000 / count };
}

describe("registry reads", () => {
  it("prints the subgraph's reads/s for the 20-server list and a read by id beside raw pg's", async () => {
    // The principal the gateway would send for this key, signed as the gateway signs it.
    const key = await stack.db.apiKey.findFirstOrThrow({ where: { organizationId: org.organizationId } });
    const principal = {
      organizationId: org.organizationId,
      userId: org.ownerId,
      apiKeyId: key.id,
      role: "owner" as const,
      scopes: effectiveScopes("owner", key.scopes),
      authMethod: "api_key" as const,
    };
    const headers = {
      [INTERNAL_TOKEN_HEADER]: await new InternalTokenSigner(stack.keys).sign(principal),
      "content-type": "application/json",
    };
    const first = await fetch(stack.env.REGISTRY_SUBGRAPH_URL, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: LIST }),
    });
    const items = ((await first.json()) as { data: { mcpServers: { items: Array<{ id: string }> } } }).data.mcpServers
      .items;
    expect(items).toHaveLength(ROWS);
    const id = items[0]?.id as string;

    progress("raw pg");
    const pg = await rawPg(org.organizationId);
    const rows: Array<[string, number, LoadResult | null, number | null]> = [
      ["raw pg, 20 rows", pg.rps, null, pg.cpuMsPerRead],
    ];
    for (const [label, query] of [
      [`registry subgraph mcpServers(limit: ${ROWS})`, LIST],
      ["registry subgraph mcpServer(id)", BY_ID(id)],
    ] as const) {
      progress(label);
      const cpu = process.cpuUsage();
      const result = await runLoad({
        url: stack.env.REGISTRY_SUBGRAPH_URL,
        method: "POST",
        headers,
        body: JSON.stringify({ query }),
        concurrency: CONCURRENCY,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        maxRequests: 500_000,
        expectStatus: 200,
      });
      const used = process.cpuUsage(cpu);
      // The server's CPU (this process) over warm-up and run, per request answered in both.
      const answered = result.requests * ((WARMUP_MS + DURATION_MS) / DURATION_MS);
      rows.push([label, result.rps, result, (used.user + used.system) / 1000 / answered]);
    }
    printTable(
      `registry reads: ${CONCURRENCY} concurrent keep-alive connections, ${DURATION_MS / 1000} s each`,
      ["path", "req/s", "× raw pg", "p50 ms", "p99 ms", "errors", "server CPU ms/req (approx.)"],
      rows.map(([label, rps, r, cpu]) => [
        label,
        Math.round(rps),
        (rps / pg.rps).toFixed(2),
        r?.latency.p50,
        r?.latency.p99,
        r?.errors ?? 0,
        cpu?.toFixed(2),
      ]),
      `${conditionsNote()}\nServer CPU per request includes the warm-up's requests, estimated at the measured rate.`,
    );
    await writeResults("registry-reads", {
      rows: rows.map(([label, rps, r, cpu]) => ({
        label,
        rps,
        vsRawPg: rps / pg.rps,
        cpuMsPerRequest: cpu,
        result: r,
      })),
    });
    expect(rows.every(([, , r]) => (r?.errors ?? 0) === 0)).toBe(true);
  });
});
