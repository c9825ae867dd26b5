import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  createKeyRing,
  createPrisma,
  effectiveScopes,
  gatewayEnvSchema,
  INTERNAL_TOKEN_HEADER,
  InternalTokenSigner,
  type PrismaClient,
  parseEnv,
  resolveKeys,
} from "@sprintconnect/core";
import { appDatabaseUrl } from "../test/support/env";
import { waitFor } from "../test/support/wait";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./support/env";
import { type LoadResult, runLoad } from "./support/load";
import { freePort } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";

/**
 * The gateway's own cost per request, before GraphQL: authenticated `{ __typename }` (the
 * gateway answers it without a subgraph), with the gateway in its own process as `npm start`
 * runs it, against the registry subgraph answering the same query directly. Variants, in the
 * same run: this gateway (authentication cache on), the same gateway with the cache off
 * (AUTH_CACHE_TTL_SECONDS=0: a database read per request, the limits still one script), and, if
 * BENCH_BASELINE_GATEWAY names another build's `gateway/dist/main.js` (e.g. the main branch's),
 * that one. Each row gives the gateway process's CPU time per request.
 */

const QUERY = "{ __typename }";
const CONCURRENCY = 10;
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const ROOT = resolve(__dirname, "..");

let db: PrismaClient;
const processes: ChildProcess[] = [];

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

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat; 12 and 13 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Starts `script` as its own process and waits for its /health. */
/** The keys and database role every process of this run uses (a baseline build elsewhere finds no dev secrets of ours). */
const shared: Record<string, string> = {};

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

describe("gateway per-request cost", () => {
  it("prints requests/s and CPU per request of authenticated { __typename } through each gateway and the subgraph directly", async () => {
    const env = parseEnv(gatewayEnvSchema, { DATABASE_URL: BENCH_DATABASE_URL });
    const material = resolveKeys(env);
    const keys = await createKeyRing(material.jwtPrivateJwk);
    Object.assign(shared, {
      JWT_SECRET_KEY:
        typeof material.jwtPrivateJwk === "string" ? material.jwtPrivateJwk : JSON.stringify(material.jwtPrivateJwk),
      API_KEY_ENCRYPTION_KEY: material.apiKeyPepper,
      APP_DATABASE_URL: appDatabaseUrl(BENCH_DATABASE_URL),
    });
    const org = await createOrganization(db, material.apiKeyPepper, {
      name: `Bench gateway auth ${Date.now().toString(36)}`,
      ownerEmail: `bench-auth-${Date.now().toString(36)}@example.test`,
    });
    const key = await db.apiKey.findFirstOrThrow({ where: { organizationId: org.organizationId } });
    const internalToken = await new InternalTokenSigner(keys).sign({
      organizationId: org.organizationId,
      userId: org.userId,
      apiKeyId: key.id,
      role: "owner",
      scopes: effectiveScopes("owner", key.scopes),
      authMethod: "api_key",
    });

    const registryPort = await freePort();
    const registry = await startProcess("registry subgraph", "subgraphs/registry/dist/main.js", {
      PORT: String(registryPort),
    });
    const registryUrl = `http://127.0.0.1:${registryPort}/graphql`;
    const gatewayEnv = {
      RATE_LIMIT_REQUESTS_PER_MINUTE: "100000000",
      RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000000",
      QUOTA_REQUESTS_PER_DAY: "1000000000",
      REGISTRY_SUBGRAPH_URL: registryUrl,
    };
    const gateways: Array<{ label: string; script: string; env: Record<string, string> }> = [
      { label: "gateway, auth cache on", script: "gateway/dist/main.js", env: {} },
      { label: "gateway, auth cache off", script: "gateway/dist/main.js", env: { AUTH_CACHE_TTL_SECONDS: "0" } },
    ];
    if (process.env.BENCH_BASELINE_GATEWAY) {
      gateways.push({ label: "baseline gateway", script: process.env.BENCH_BASELINE_GATEWAY, env: {} });
    }
    const targets: Array<{ label: string; url: string; headers: Record<string, string>; pid: number }> = [
      {
        label: "registry subgraph directly",
        url: registryUrl,
        headers: { [INTERNAL_TOKEN_HEADER]: internalToken },
        pid: registry.pid as number,
      },
    ];
    for (const gateway of gateways) {
      const port = await freePort();
      const child = await startProcess(gateway.label, gateway.script, {
        ...gatewayEnv,
        ...gateway.env,
        GATEWAY_PORT: String(port),
      });
      targets.push({
        label: gateway.label,
        url: `http://127.0.0.1:${port}/graphql`,
        headers: { authorization: `Bearer ${org.apiKey}` },
        pid: child.pid as number,
      });
    }

    const body = JSON.stringify({ query: QUERY });
    const results: Array<{ label: string; cpuMsPerRequest: number } & LoadResult> = [];
    for (const target of targets) {
      const headers = { ...target.headers, "content-type": "application/json" };
      const check = await fetch(target.url, { method: "POST", headers, body });
      // Printed whole if it is not the answer.
      expect({ target: target.label, answer: await check.json() }).toMatchObject({
        target: target.label,
        answer: { data: { __typename: "Query" } },
      });
      progress(`${target.label}: ${CONCURRENCY} connections, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s`);
      const before = cpuMs(target.pid);
      const result = await runLoad({
        url: target.url,
        method: "POST",
        headers,
        body,
        concurrency: CONCURRENCY,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        maxRequests: 1_000_000,
        expectStatus: 200,
      });
      // Warm-up requests are in the CPU time too: divide by all of them (rate × whole run).
      const all = result.requests * ((WARMUP_MS + result.elapsedMs) / result.elapsedMs);
      results.push({ label: target.label, cpuMsPerRequest: (cpuMs(target.pid) - before) / all, ...result });
    }

    const direct = results[0] as LoadResult;
    const cached = results[1] as LoadResult;
    printTable(
      `gateway per-request cost: authenticated ${QUERY}, ${CONCURRENCY} keep-alive connections, ${DURATION_MS / 1000} s each`,
      ["target", "requests", "errors", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "÷ subgraph", "÷ cache on"],
      results.map((r) => [
        r.label,
        r.requests,
        r.errors,
        r.rps,
        r.latency.p50,
        r.latency.p99,
        r.cpuMsPerRequest.toFixed(3),
        (r.rps / direct.rps).toFixed(2),
        (r.rps / cached.rps).toFixed(2),
      ]),
      "Every target is its own process (as `npm start` runs them); the client is another (bench/support/load.ts).\n" +
        conditionsNote(),
    );
    const file = await writeResults("gateway-auth", { query: QUERY, concurrency: CONCURRENCY, results });
    progress(`written ${file}`);
    for (const r of results) expect(r.errors).toBe(0);
  });
});
