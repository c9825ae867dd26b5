// --- traces (issue 10) ---
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import { createPrisma, parseEnv, resolveAppDatabaseUrl, resolveKeys, subgraphEnvSchema } from "@sprintconnect/core";
import { runLoad } from "./support/load";
import { type ProcessStack, processCpuMs, startProcessStack } from "./support/process-stack";
import { conditions, conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";

/**
 * What tracing costs the gateway's read path, as `npm start` runs it: the same REST list request
 * against three stacks started one after the other — tracing off, on (exporting to an OTLP/HTTP
 * sink in this process that reads and drops each batch), off again — so the two "off" runs
 * bound the noise of the machine. Throughput, latency and CPU per request of the gateway and
 * the registry subgraph, as ratios to the mean of the "off" runs, beside the load average.
 * Off costs nothing by construction (no OpenTelemetry SDK, exporter or instrumentation is
 * loaded; test/tracing.test.ts checks every process), so "off" is also the baseline of before.
 * TRACING_BENCH_SECONDS sets each run's length.
 */
const DURATION_MS = Number(process.env.TRACING_BENCH_SECONDS ?? 10) * 1000;
const CONCURRENCY = 10;
const SERVERS = 20;

interface Run {
  mode: "off" | "on";
  rps: number;
  p50: number;
  p95: number;
  errors: number;
  gatewayCpuPerRequest: number;
  registryCpuPerRequest: number;
  loadAverage: number[];
}

let apiKey: string | null = null;

async function ownerKey(stack: ProcessStack): Promise<string> {
  if (apiKey) return apiKey;
  const env = parseEnv(subgraphEnvSchema, { ...process.env, ...stack.env });
  const db = createPrisma({
    DATABASE_URL: resolveAppDatabaseUrl(env),
    DATABASE_POOL_SIZE: 1,
    DATABASE_MAX_OVERFLOW: 0,
  });
  try {
    const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const org = await createOrganization(db, resolveKeys(env).apiKeyPepper, {
      name: `Bench tracing ${unique}`,
      ownerEmail: `owner-${unique}@example.test`,
    });
    await db.mcpServer.createMany({
      data: Array.from({ length: SERVERS + 1 }, (_, i) => ({
        organizationId: org.organizationId,
        name: `bench-tracing-${i}`,
        baseUrl: `https://mcp${i}.example.test/mcp`,
        status: "inactive",
      })),
    });
    apiKey = org.apiKey;
    return apiKey;
  } finally {
    await db.$disconnect();
  }
}

async function measure(mode: Run["mode"], endpoint: string): Promise<Run> {
  progress(`tracing ${mode}: starting the stack`);
  const stack = await startProcessStack(
    mode === "on" ? { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: "1000" } : {},
  );
  try {
    const key = await ownerKey(stack);
    const cpu = () => ({
      gateway: processCpuMs(stack.pids.gateway as number),
      registry: processCpuMs(stack.pids.registry as number),
    });
    let before = cpu();
    let after = before;
    progress(`tracing ${mode}: measuring`);
    const result = await runLoad(
      {
        url: `${stack.url}/v1/mcp/servers?limit=${SERVERS}`,
        method: "GET",
        headers: { authorization: `Bearer ${key}` },
        expectStatus: 200,
        concurrency: CONCURRENCY,
        warmupMs: 2_000,
        warmupRequests: 1_000,
        maxWarmupMs: 20_000,
        durationMs: DURATION_MS,
        maxRequests: 1_000_000,
      },
      {
        measuring: () => {
          before = cpu();
        },
        done: () => {
          after = cpu();
        },
      },
    );
    return {
      mode,
      rps: result.rps,
      p50: result.latency.p50,
      p95: result.latency.p95,
      errors: result.errors,
      gatewayCpuPerRequest: (after.gateway - before.gateway) / result.requests,
      registryCpuPerRequest: (after.registry - before.registry) / result.requests,
      loadAverage: conditions().loadAverage,
    };
  } finally {
    await stack.stop();
  }
}

describe("tracing", () => {
  it("prints the gateway's REST list throughput and CPU per request with tracing off, on, off", async () => {
    let batches = 0;
    let bytes = 0;
    const sink = createServer((req, res) => {
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on("end", () => {
        batches += 1;
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((done) => sink.listen(0, "127.0.0.1", done));
    const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    const runs: Run[] = [];
    try {
      for (const mode of ["off", "on", "off"] as const) runs.push(await measure(mode, endpoint));
    } finally {
      await new Promise((done) => sink.close(done));
    }
    const offs = runs.filter((r) => r.mode === "off");
    const base = {
      rps: offs.reduce((s, r) => s + r.rps, 0) / offs.length,
      gateway: offs.reduce((s, r) => s + r.gatewayCpuPerRequest, 0) / offs.length,
      registry: offs.reduce((s, r) => s + r.registryCpuPerRequest, 0) / offs.length,
    };
    printTable(
      `gateway GET /v1/mcp/servers?limit=${SERVERS}, ${CONCURRENCY} connections, ${DURATION_MS / 1000}s per run`,
      [
        "tracing",
        "req/s",
        "× off",
        "p50 ms",
        "p95 ms",
        "errors",
        "gateway CPU ms/req",
        "registry CPU ms/req",
        "load avg",
      ],
      runs.map((r) => [
        r.mode,
        r.rps,
        (r.rps / base.rps).toFixed(2),
        r.p50,
        r.p95,
        r.errors,
        r.gatewayCpuPerRequest.toFixed(2),
        r.registryCpuPerRequest.toFixed(2),
        r.loadAverage.map((l) => l.toFixed(2)).join(" "),
      ]),
      `${conditionsNote()}; the sink received ${batches} batches, ${(bytes / 1e6).toFixed(1)} MB`,
    );
    await writeResults("tracing", { runs, base, sink: { batches, bytes }, conditions: conditions() });
    expect(runs.every((r) => r.errors === 0)).toBe(true);
  });
});
// --- end traces ---
