import { createHash } from "node:crypto";
import type { Prisma } from "@sprintconnect/core";
import {
  capabilitiesQuery,
  type RunSql,
  searchCapabilities,
  searchServers,
  serversQuery,
} from "@sprintconnect/registry-subgraph";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

type Health = "healthy" | "degraded" | "unknown" | "auth_required" | "unhealthy";
const RANK: Record<Health, number> = { healthy: 0, degraded: 1, unknown: 2, auth_required: 3, unhealthy: 4 };

interface CapabilitySeed {
  name: string;
  kind?: "tool" | "resource" | "resource_template" | "prompt";
  description?: string;
  enabled?: boolean;
  reviewRequired?: boolean;
  removed?: boolean;
}
interface ServerSeed {
  name: string;
  health: Health;
  description?: string;
  deleted?: boolean;
  inactive?: boolean;
  capabilities?: CapabilitySeed[];
}

/** Servers and capabilities written straight to the database (no worker, no MCP server behind them). */
async function seed(org: TestOrg, servers: ServerSeed[]) {
  const ids = new Map<string, string>();
  for (const s of servers) {
    const row = await stack.db.mcpServer.create({
      data: {
        organizationId: org.organizationId,
        name: s.name,
        description: s.description ?? null,
        baseUrl: `https://${s.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.example.test/mcp`,
        healthStatus: s.health,
        status: s.inactive ? "inactive" : "active",
        deletedAt: s.deleted ? new Date() : null,
      },
    });
    ids.set(s.name, row.id);
    await stack.db.mcpCapability.createMany({
      data: (s.capabilities ?? []).map((c) => ({
        organizationId: org.organizationId,
        serverId: row.id,
        kind: c.kind ?? "tool",
        name: c.name,
        description: c.description ?? null,
        definition: { name: c.name },
        definitionHash: createHash("sha256").update(c.name).digest("hex"),
        enabled: c.enabled ?? true,
        reviewRequired: c.reviewRequired ?? false,
        removedAt: c.removed ? new Date() : null,
      })),
    });
  }
  return ids;
}

/** Every page of a REST discovery search, `limit` at a time, as the names of what it found. */
async function allPages(
  org: TestOrg,
  route: "servers" | "capabilities",
  params: Record<string, string>,
  limit: number,
) {
  const names: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: URLSearchParams = new URLSearchParams({
      ...params,
      limit: String(limit),
      ...(cursor ? { cursor } : {}),
    });
    const res: { status: number; body: any } = await request(stack.url, "GET", `/v1/discovery/${route}?${query}`, {
      auth: org.ownerKey,
    });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    for (const item of res.body.items) {
      names.push(route === "servers" ? item.name : `${item.server.name}/${item.capability.name}`);
    }
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return names;
}

/** Runs statements as the registry does, and counts them. */
function counting() {
  const run = (<T>(statement: Prisma.Sql) => {
    counter.statements++;
    return stack.db.$queryRaw<T[]>(statement);
  }) as RunSql;
  const counter = { statements: 0, run };
  return counter;
}

describe("discovery search", () => {
  it("finds servers by name, description and live capability, healthy first, then by name, on every page", async () => {
    const org = await createTestOrg(stack, "Search order");
    await seed(org, [
      { name: "bravo", health: "healthy", capabilities: [{ name: "get_forecast" }] },
      { name: "alpha", health: "degraded", description: "Daily forecast for farmers" },
      { name: "charlie-forecast", health: "unhealthy" },
      { name: "delta", health: "healthy", capabilities: [{ name: "list_rain", description: "Rain FORECAST by hour" }] },
      { name: "echo", health: "unknown", capabilities: [{ name: "forecast", kind: "prompt" }] },
      { name: "foxtrot", health: "auth_required", capabilities: [{ name: "forecast_io", kind: "resource" }] },
      { name: "aardvark", health: "healthy", description: "forecasts" },
      // Not found: no match, or only a capability agents may not see, or not a live server.
      { name: "golf", health: "healthy", capabilities: [{ name: "get_weather" }] },
      { name: "hotel", health: "healthy", capabilities: [{ name: "get_forecast", enabled: false }] },
      { name: "india", health: "healthy", capabilities: [{ name: "get_forecast", reviewRequired: true }] },
      { name: "juliet", health: "healthy", capabilities: [{ name: "get_forecast", removed: true }] },
      { name: "kilo-forecast", health: "healthy", deleted: true },
      { name: "lima-forecast", health: "healthy", inactive: true },
    ]);
    const expected = ["aardvark", "bravo", "delta", "alpha", "echo", "foxtrot", "charlie-forecast"];
    for (const limit of [1, 2, 3, 50]) {
      expect(await allPages(org, "servers", { q: "forecast" }, limit)).toEqual(expected);
    }
    expect(await allPages(org, "servers", { capability: "FORECAST" }, 2)).toEqual(["bravo", "echo", "foxtrot"]);
    expect(await allPages(org, "servers", { q: "forecast", health: "healthy" }, 2)).toEqual([
      "aardvark",
      "bravo",
      "delta",
    ]);
  });

  it("takes % and _ in search text literally", async () => {
    const org = await createTestOrg(stack, "Search wildcards");
    await seed(org, [
      {
        name: "search_docs",
        health: "healthy",
        capabilities: [{ name: "search_files" }, { name: "rate_100%" }, { name: "rate_1000" }],
      },
      // Found only if `_` matched any character.
      { name: "searchXdocs", health: "healthy", capabilities: [{ name: "searchXfiles" }, { name: "rateX1000" }] },
    ]);
    expect(await allPages(org, "servers", { q: "search_" }, 5)).toEqual(["search_docs"]);
    expect(await allPages(org, "servers", { capability: "h_f" }, 5)).toEqual(["search_docs"]);
    expect(await allPages(org, "capabilities", { name: "search_" }, 5)).toEqual(["search_docs/search_files"]);
    expect(await allPages(org, "capabilities", { name: "0%" }, 5)).toEqual(["search_docs/rate_100%"]);
    // Byte order of the lower-cased name: "%" (0x25) before "0" (0x30).
    expect(await allPages(org, "capabilities", { q: "_1" }, 5)).toEqual([
      "search_docs/rate_100%",
      "search_docs/rate_1000",
    ]);
  });

  it("lists capabilities whose names start with the name filter before those that only contain it, case-insensitively", async () => {
    const org = await createTestOrg(stack, "Search prefix");
    await seed(org, [
      {
        name: "files",
        health: "healthy",
        capabilities: [
          { name: "web_search" },
          { name: "Search_Files" },
          { name: "search_alerts" },
          { name: "search", kind: "prompt" },
          { name: "research_notes" },
          { name: "get_file" },
        ],
      },
      { name: "archive", health: "degraded", capabilities: [{ name: "search_archive" }, { name: "deep_search" }] },
    ]);
    const expected = [
      "files/search",
      "files/search_alerts",
      "files/Search_Files",
      "files/research_notes",
      "files/web_search",
      "archive/search_archive",
      "archive/deep_search",
    ];
    for (const limit of [1, 2, 4, 50]) {
      expect(await allPages(org, "capabilities", { name: "search" }, limit)).toEqual(expected);
    }
    // Without a name filter: health, then the name case-insensitively.
    expect(await allPages(org, "capabilities", { kind: "tool" }, 3)).toEqual([
      "files/get_file",
      "files/research_notes",
      "files/search_alerts",
      "files/Search_Files",
      "files/web_search",
      "archive/deep_search",
      "archive/search_archive",
    ]);
  });

  it("answers every page as the ranked statement alone would, whether the walk fills it or not", async () => {
    const org = await createTestOrg(stack, "Search walk");
    const health: Health[] = ["healthy", "degraded", "unknown", "auth_required", "unhealthy"];
    const servers: ServerSeed[] = Array.from({ length: 40 }, (_, i) => ({
      name: `srv-${String((i * 17) % 40).padStart(2, "0")}`,
      health: health[i % 5] as Health,
      description: i % 3 === 0 ? "Weather forecasts" : "Other things",
      capabilities: [
        { name: `get_${i % 4 === 0 ? "forecast" : "tide"}` },
        { name: `search_${i % 2 === 0 ? "city" : "port"}`, description: "Search places" },
        { name: `summary_${i}`, kind: "prompt", description: i % 5 === 0 ? "Forecast summary" : "Summary" },
      ],
    }));
    await seed(org, servers);
    const rank = new Map(servers.map((s) => [s.name, RANK[s.health]]));
    expect(rank.size).toBe(40);

    const serverFilters = [{ q: "forecast" }, { capability: "tide" }, { q: "srv-1" }, { q: "nothing" }, {}];
    let walked = 0;
    for (const f of serverFilters) {
      for (const [limit, offset] of [
        [3, 0],
        [3, 3],
        [5, 5],
        [20, 0],
        [4, 12],
      ] as const) {
        const counter = counting();
        const got = await searchServers(counter.run, org.organizationId, f, limit, offset);
        const ranked = await stack.db.$queryRaw<Array<{ id: string }>>(
          serversQuery(org.organizationId, f, limit, offset),
        );
        expect(got).toEqual(ranked.map((r) => r.id));
        if (counter.statements === 1) walked++;
      }
    }
    const capabilityFilters = [{ name: "search_" }, { q: "forecast" }, { kind: "prompt" }, { name: "ti" }, {}];
    for (const f of capabilityFilters) {
      for (const [limit, offset] of [
        [3, 0],
        [3, 3],
        [10, 10],
        [50, 0],
      ] as const) {
        const counter = counting();
        const got = await searchCapabilities(counter.run, org.organizationId, f, limit, offset);
        const ranked = await stack.db.$queryRaw<Array<{ id: string; serverId: string }>>(
          capabilitiesQuery(org.organizationId, f, limit, offset),
        );
        expect(got).toEqual(ranked);
        if (counter.statements === 1) walked++;
      }
    }
    // Both ways were taken: pages the walk filled, and pages it handed to the ranked statement.
    expect(walked).toBeGreaterThan(5);
    expect(walked).toBeLessThan(serverFilters.length * 5 + capabilityFilters.length * 4);

    // The ranked order itself: health, then name.
    const all = await allPages(org, "servers", { q: "forecast" }, 7);
    const sorted = [...all].sort((a, b) => (rank.get(a) ?? 9) - (rank.get(b) ?? 9) || (a < b ? -1 : a > b ? 1 : 0));
    expect(all).toEqual(sorted);
    expect(all.length).toBe(servers.filter((_, i) => i % 3 === 0 || i % 4 === 0 || i % 5 === 0).length);
  });
});
