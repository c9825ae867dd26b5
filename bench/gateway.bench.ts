import { effectiveScopes, INTERNAL_TOKEN_HEADER, InternalTokenSigner } from "@sprintconnect/core";
import { request } from "../test/support/http";
import { createTestOrg, type Stack, type TestOrg } from "../test/support/stack";
import { type LoadResult, type LoadSpec, runLoad } from "./support/load";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, startBenchStack } from "./support/stack";

/** The trivial authenticated query: one indexed read in the registry, almost nothing to resolve. */
const QUERY = "{ mcpServers(limit: 1) { nextCursor } }";
const CONCURRENCY = 10;
const WARMUP_MS = 2_000;
const DURATION_MS = 10_000;
const MAX_REQUESTS = 200_000;

let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  stack = await startBenchStack();
  org = await createTestOrg(stack, "Bench gateway");
  // A few rows, so the list reads something and has a next page.
  await stack.db.mcpServer.createMany({
    data: [1, 2, 3].map((i) => ({
      organizationId: org.organizationId,
      name: `bench-gateway-${i}`,
      baseUrl: `https://mcp${i}.example.test/mcp`,
    })),
  });
});
afterAll(() => stack?.close());

describe("gateway overhead", () => {
  it("prints throughput and latency through the gateway, its REST layer and straight to the registry subgraph", async () => {
    const auth = { authorization: `Bearer ${org.ownerKey}` };
    const json = { "content-type": "application/json" };
    const body = JSON.stringify({ query: QUERY });

    // The principal the gateway would send for this key, signed as the gateway signs it.
    const key = await stack.db.apiKey.findFirstOrThrow({ where: { organizationId: org.organizationId } });
    // Valid two minutes: longer than the run that uses it.
    const internalToken = await new InternalTokenSigner(stack.keys).sign({
      organizationId: org.organizationId,
      userId: org.ownerId,
      apiKeyId: key.id,
      role: "owner",
      scopes: effectiveScopes("owner", key.scopes),
      authMethod: "api_key",
    });

    const common = {
      concurrency: CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      maxRequests: MAX_REQUESTS,
    };
    const variants: Array<{ label: string; spec: LoadSpec }> = [
      {
        label: "gateway POST /graphql",
        spec: {
          ...common,
          url: `${stack.url}/graphql`,
          method: "POST",
          headers: { ...auth, ...json },
          body,
          expectStatus: 200,
        },
      },
      {
        label: "gateway GET /v1/mcp/servers?limit=1",
        spec: {
          ...common,
          url: `${stack.url}/v1/mcp/servers?limit=1`,
          method: "GET",
          headers: auth,
          expectStatus: 200,
        },
      },
      {
        label: "registry subgraph POST /graphql",
        spec: {
          ...common,
          url: stack.env.REGISTRY_SUBGRAPH_URL,
          method: "POST",
          headers: { [INTERNAL_TOKEN_HEADER]: internalToken, ...json },
          body,
          expectStatus: 200,
        },
      },
    ];

    // Each path answers correctly before it is loaded.
    const viaGateway = await request(stack.url, "POST", "/graphql", { auth: org.ownerKey, body: { query: QUERY } });
    expect(viaGateway.body.data.mcpServers.nextCursor).toEqual(expect.any(String));
    const viaRest = await request(stack.url, "GET", "/v1/mcp/servers?limit=1", { auth: org.ownerKey });
    expect(viaRest.body.items).toHaveLength(1);
    const direct = await fetch(stack.env.REGISTRY_SUBGRAPH_URL, {
      method: "POST",
      headers: { [INTERNAL_TOKEN_HEADER]: internalToken, ...json },
      body,
    });
    expect(
      ((await direct.json()) as { data: { mcpServers: { nextCursor: string } } }).data.mcpServers.nextCursor,
    ).toEqual(viaGateway.body.data.mcpServers.nextCursor);

    const results: Array<{ label: string } & LoadResult> = [];
    for (const { label, spec } of variants) {
      progress(`${label}: ${CONCURRENCY} connections, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s`);
      results.push({ label, ...(await runLoad(spec)) });
    }

    const subgraph = results[2] as LoadResult;
    printTable(
      `gateway overhead: ${QUERY}, ${CONCURRENCY} concurrent keep-alive connections, ${DURATION_MS / 1000} s each`,
      ["path", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s ÷ subgraph"],
      results.map((r) => [
        r.label,
        r.requests,
        r.errors,
        r.rps,
        r.latency.p50,
        r.latency.p95,
        r.latency.p99,
        r.latency.max,
        (r.rps / subgraph.rps).toFixed(2),
      ]),
      "Client: a child process (closed loop, node:http keep-alive). The gateway and the four subgraphs share one\n" +
        "process and event loop (test/support/stack.ts), so a gateway request also pays the subgraph's work on the same core.\n" +
        conditionsNote(),
    );
    const file = await writeResults("gateway", {
      query: QUERY,
      concurrency: CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      results,
      ratios: {
        graphqlToSubgraph: (results[0] as LoadResult).rps / subgraph.rps,
        restToSubgraph: (results[1] as LoadResult).rps / subgraph.rps,
      },
    });
    progress(`written ${file}`);
    for (const r of results) {
      if (r.errors > 0) progress(`${r.label}: ${r.errors} errors, first: ${r.firstError}`);
    }
  });
});
