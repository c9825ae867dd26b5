import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { checkBudgets, createLogger, floorHour, Outputs, Prisma, rollUpUsage } from "@sprintconnect/core";
import { Scheduler, USAGE_ANALYTICS_KEY } from "@sprintconnect/worker";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

/**
 * Metering: every use is recorded once, attributed to its organization, user and key; the
 * rollups and the raw tail together give exact totals; the rollup is idempotent and a crash
 * halfway loses nothing.
 */

let stack: Stack;
let fixture: FixtureHandle;

beforeAll(async () => {
  stack = await startStack({ USAGE_FLUSH_INTERVAL_MS: "100" }, { worker: true });
  fixture = await startFixture("tools");
});
afterAll(async () => {
  await stack.close();
  await fixture.close();
});

const HOUR = 3_600_000;
const SUMMARY = `query($from: DateTimeISO!, $to: DateTimeISO!, $groupBy: [UsageDimension!], $interval: UsageInterval, $timeZone: String, $kind: String, $limit: Int, $cursor: String) {
  usageSummary(from: $from, to: $to, groupBy: $groupBy, interval: $interval, timeZone: $timeZone, kind: $kind, limit: $limit, cursor: $cursor) {
    items { bucket kind serverId toolName userId apiKeyId model events errors quantity inputTokens outputTokens cachedTokens costUsd avgDurationMs }
    nextCursor timeZone rolledUntil
  }
}`;

type Row = Record<string, any>;

/** Every page of a summary, as GraphQL returns it. */
async function summary(auth: string, variables: Record<string, unknown>): Promise<Row[]> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  do {
    const res: Awaited<ReturnType<typeof graphql>> = await graphql(stack.url, auth, SUMMARY, {
      ...variables,
      cursor,
      limit: 7,
    });
    expect(res.body.errors).toBeUndefined();
    const page = (res.body.data as { usageSummary: { items: Row[]; nextCursor: string | null } }).usageSummary;
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return rows;
}

/** The same totals straight from the raw events, grouped by `groups` (alias → SQL expression; `$tz` is the zone). */
async function direct(
  organizationId: string,
  from: Date,
  to: Date,
  groups: Record<string, string>,
  timeZone = "UTC",
): Promise<Row[]> {
  const entries = Object.entries(groups).map(([alias, sql]) => [alias, sql.replaceAll("$tz", `'${timeZone}'`)]);
  const rows = await stack.db.$queryRawUnsafe<Row[]>(
    `SELECT ${entries.map(([alias, sql]) => `${sql} AS "${alias}", `).join("")}
            count(*)::float8 AS events, count(*) FILTER (WHERE NOT success)::float8 AS errors,
            sum("inputTokens")::float8 AS "inputTokens", sum("outputTokens")::float8 AS "outputTokens",
            sum("costUsd")::text AS "costUsd", avg("durationMs")::float8 AS "avgDurationMs"
       FROM "UsageEvent" WHERE "organizationId" = $1::uuid AND "occurredAt" >= $2 AND "occurredAt" < $3
      ${entries.length ? `GROUP BY ${entries.map((_, i) => String(i + 1)).join(", ")}` : ""}`,
    organizationId,
    from,
    to,
  );
  return rows;
}

const normalize = (rows: Row[], keys: string[]) =>
  rows
    .map((r) =>
      JSON.stringify([
        ...keys.map((k) => (r[k] instanceof Date ? r[k].toISOString() : (r[k] ?? null))),
        r.events,
        r.errors,
        r.inputTokens,
        r.outputTokens,
        new Prisma.Decimal(r.costUsd ?? 0).toFixed(),
        r.avgDurationMs === null ? null : Math.round(r.avgDurationMs * 1000) / 1000,
      ]),
    )
    .sort();

describe("usage recording", () => {
  let org: TestOrg;
  let server: { id: string };

  beforeAll(async () => {
    org = await createTestOrg(stack, "Metered");
  });

  it("records every API request, search and discovery run once, attributed to its user and key", async () => {
    const dev = await org.member("developer");
    const started = new Date();
    // A mixed workload, counted as it is made.
    const registered = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "metered", baseUrl: fixture.url, transport: "streamable_http" },
    });
    expect(registered.status).toBe(201);
    server = registered.body;
    let ownerRequests = 1;
    for (let i = 0; i < 3; i++) {
      expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: org.ownerKey })).status).toBe(200);
      ownerRequests++;
    }
    for (let i = 0; i < 4; i++) {
      const res = await graphql(stack.url, dev.apiKey, "query ListThem { mcpServers(limit: 5) { items { id } } }");
      expect(res.status).toBe(200);
    }
    const devKeyRequests = 4;
    for (const q of ["weather", "forecast"]) {
      expect((await request(stack.url, "GET", `/v1/discovery/servers?q=${q}`, { auth: dev.token })).status).toBe(200);
    }
    const devTokenRequests = 2;
    // A refused request is a use too (404 here).
    expect((await request(stack.url, "GET", `/v1/mcp/servers/${randomUUID()}`, { auth: dev.token })).status).toBe(404);
    // The discovery the registration queued.
    await waitFor("the discovery run", async () => {
      const s = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: server.id } });
      return s.discoveryStatus === "succeeded";
    });

    const count = (where: Prisma.UsageEventWhereInput) =>
      stack.db.usageEvent.count({
        where: { organizationId: org.organizationId, occurredAt: { gte: started }, ...where },
      });
    await waitFor("every request to be written", async () => (await count({ kind: "api.request" })) === 11);
    expect(await count({ kind: "api.request", userId: org.ownerId, apiKeyId: { not: null } })).toBe(ownerRequests);
    expect(await count({ kind: "api.request", userId: dev.userId, apiKeyId: { not: null } })).toBe(devKeyRequests);
    expect(await count({ kind: "api.request", userId: dev.userId, apiKeyId: null })).toBe(devTokenRequests + 1);
    expect(await count({ kind: "api.request", success: false })).toBe(1);
    expect(await count({ kind: "discovery.search", userId: dev.userId })).toBe(2);
    expect(await count({ kind: "discovery.run", serverId: server.id, success: true })).toBe(1);

    const graphqlEvent = await stack.db.usageEvent.findFirstOrThrow({
      where: { organizationId: org.organizationId, kind: "api.request", apiKeyId: { not: null }, userId: dev.userId },
    });
    expect(graphqlEvent.metadata).toMatchObject({ route: "POST /graphql", status: 200, operation: "ListThem" });
    expect(graphqlEvent.durationMs).toEqual(expect.any(Number));
    const search = await stack.db.usageEvent.findFirstOrThrow({
      where: {
        organizationId: org.organizationId,
        kind: "discovery.search",
        metadata: { path: ["filter", "q"], equals: "forecast" },
      },
    });
    expect(search.metadata).toMatchObject({ search: "servers", results: expect.any(Number) });
  });

  it("sums usage exactly, by kind, user and key, in hours of any time zone, through GraphQL and REST", async () => {
    const from = new Date(Date.now() - 2 * HOUR);
    const to = new Date(Date.now() + HOUR);
    const byKind = await summary(org.ownerKey, { from, to, groupBy: ["kind"] });
    // The summary requests themselves are metered too: compare against the database right after.
    const expectedKinds = await direct(org.organizationId, from, to, { kind: "kind" });
    const withoutSummaries = (rows: Row[]) => rows.filter((r) => r.kind !== "api.request");
    expect(normalize(withoutSummaries(byKind), ["kind"])).toEqual(normalize(withoutSummaries(expectedKinds), ["kind"]));

    for (const timeZone of ["UTC", "America/New_York", "Asia/Kolkata"]) {
      const rows = await summary(org.ownerKey, {
        from,
        to,
        groupBy: ["user", "api_key"],
        interval: "hour",
        timeZone,
        kind: "discovery.search",
      });
      const expected = (
        await stack.db.$queryRaw<Row[]>`
          SELECT date_trunc('hour', "occurredAt" AT TIME ZONE ${timeZone}) AT TIME ZONE ${timeZone} AS bucket,
                 "userId", "apiKeyId", count(*)::float8 AS events, count(*) FILTER (WHERE NOT success)::float8 AS errors,
                 sum("inputTokens")::float8 AS "inputTokens", sum("outputTokens")::float8 AS "outputTokens",
                 sum("costUsd")::text AS "costUsd", avg("durationMs")::float8 AS "avgDurationMs"
            FROM "UsageEvent" WHERE "organizationId" = ${org.organizationId}::uuid AND kind = 'discovery.search'
             AND "occurredAt" >= ${from} AND "occurredAt" < ${to}
           GROUP BY 1, 2, 3`
      ).map((r) => ({ ...r, bucket: r.bucket.toISOString() }));
      expect(normalize(rows, ["bucket", "userId", "apiKeyId"])).toEqual(
        normalize(expected, ["bucket", "userId", "apiKeyId"]),
      );
    }

    const rest = await request(
      stack.url,
      "GET",
      `/v1/metrics/usage?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=kind&groupBy=server&kind=discovery.run`,
      { auth: org.ownerKey },
    );
    expect(rest.status).toBe(200);
    expect(rest.body.items).toEqual([
      expect.objectContaining({ kind: "discovery.run", serverId: server.id, events: 1, errors: 0, bucket: null }),
    ]);
    // Costs: the same summary's token and cost columns.
    const costs = await request(
      stack.url,
      "GET",
      `/v1/metrics/costs?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=user&kind=discovery.search`,
      { auth: org.ownerKey },
    );
    expect(costs.status).toBe(200);
    expect(costs.body.items).toEqual([
      expect.objectContaining({ events: 2, costUsd: "0", inputTokens: 0, model: null }),
    ]);
    expect(costs.body.items[0]).not.toHaveProperty("errors");
  });

  it("refuses bad ranges, zones and kinds with coded errors", async () => {
    const now = Date.now();
    const cases: Array<[string, string]> = [
      [`from=${new Date(now).toISOString()}&to=${new Date(now - HOUR).toISOString()}`, "from"],
      [`from=${new Date(now - 500 * 24 * HOUR).toISOString()}&to=${new Date(now).toISOString()}`, "to"],
      [
        `from=${new Date(now - HOUR).toISOString()}&to=${new Date(now).toISOString()}&timeZone=Mars/Olympus`,
        "timeZone",
      ],
      [`from=${new Date(now - HOUR).toISOString()}&to=${new Date(now).toISOString()}&kind=coffee`, "kind"],
    ];
    for (const [query, field] of cases) {
      const res = await request(stack.url, "GET", `/v1/metrics/usage?${query}`, { auth: org.ownerKey });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(JSON.stringify(res.body.error.details)).toContain(field);
    }
    const unknownDimension = await request(
      stack.url,
      "GET",
      `/v1/metrics/usage?from=${new Date(now - HOUR).toISOString()}&to=${new Date(now).toISOString()}&groupBy=planet`,
      { auth: org.ownerKey },
    );
    expect(unknownDimension.status).toBe(400);
    const viewer = await org.member("viewer", ["org:read"]);
    const forbidden = await request(
      stack.url,
      "GET",
      `/v1/metrics/usage?from=${new Date(now - HOUR).toISOString()}&to=${new Date(now).toISOString()}`,
      { auth: viewer.apiKey },
    );
    expect(forbidden.status).toBe(403);
  });
});

describe("rollups", () => {
  /** Synthetic raw events of a new organization over the `hours` hours before `end`. */
  async function seed(name: string, end: Date, hours: number) {
    const org = await createTestOrg(stack, name);
    const dev = await org.member("developer");
    const rows: Prisma.UsageEventCreateManyInput[] = [];
    for (let h = 0; h < hours; h++) {
      for (let i = 0; i < 12; i++) {
        rows.push({
          organizationId: org.organizationId,
          kind: ["api.request", "chat.model_call", "chat.tool_call"][i % 3] as string,
          userId: i % 2 ? dev.userId : org.ownerId,
          toolName: i % 3 === 2 ? `tool_${i % 4}` : null,
          model: i % 3 === 1 ? "local" : null,
          inputTokens: i * 7,
          outputTokens: i * 3,
          costUsd: `0.00${i}1`,
          durationMs: i % 5 === 0 ? null : i * 37 + h,
          success: i % 4 !== 0,
          occurredAt: new Date(end.getTime() - (h + 1) * HOUR + i * 290_000 + 1_000),
        });
      }
    }
    // And a few in the hour that is not rolled yet (the raw tail).
    for (let i = 1; i <= 3; i++) {
      rows.push({
        organizationId: org.organizationId,
        kind: "chat.tool_call",
        toolName: "tail",
        durationMs: i * 100,
        occurredAt: new Date(end.getTime() + i * 1_000),
      });
    }
    await stack.db.usageEvent.createMany({ data: rows });
    return org;
  }

  const rollupRows = (organizationId: string) =>
    stack.db.usageRollup.findMany({
      where: { organizationId },
      orderBy: [{ period: "asc" }, { bucketStart: "asc" }, { kind: "asc" }, { userId: "asc" }, { toolName: "asc" }],
      select: {
        period: true,
        bucketStart: true,
        kind: true,
        userId: true,
        toolName: true,
        model: true,
        events: true,
        errors: true,
        inputTokens: true,
        costUsd: true,
        durationMsSum: true,
        durationCount: true,
        latencyHistogram: true,
      },
    });

  /** Puts the rollup where a test needs it: every hour before `at` rolled (as the scheduler would leave it). */
  const rolledTo = (at: Date) =>
    stack.db.usageRollupState.upsert({
      where: { id: 1 },
      create: { id: 1, rolledUntil: at },
      update: { rolledUntil: at },
    });
  const GROUPS = {
    bucket: `date_trunc('day', "occurredAt" AT TIME ZONE $tz) AT TIME ZONE $tz`,
    kind: "kind",
    userId: '"userId"',
    model: "model",
    serverId: '"serverId"',
    toolName: '"toolName"',
  };
  const KEYS = Object.keys(GROUPS);

  it("gives the same totals from rollups as from raw events, in any time zone, and the same rows when run twice", async () => {
    const now = new Date();
    const end = floorHour(new Date(now.getTime() - 5 * 60_000));
    const org = await seed("Rolled", end, 30);
    const from = new Date(end.getTime() - 30 * HOUR - 17 * 60_000);
    // Before the summaries of this test, which are metered too.
    const to = new Date();
    const variables = { from, to, groupBy: ["kind", "user", "model", "capability"], interval: "day" };

    await rolledTo(end);
    await rollUpUsage(stack.db, now, { graceMs: 5 * 60_000, lookbackHours: 40, maxHours: 100 });
    const first = await rollupRows(org.organizationId);
    const combinations = await direct(org.organizationId, from, end, {
      hour: `date_trunc('hour', "occurredAt")`,
      kind: "kind",
      userId: '"userId"',
      toolName: '"toolName"',
      model: "model",
    });
    expect(first.filter((r) => r.period === "hour")).toHaveLength(combinations.length);
    expect(first.filter((r) => r.period === "hour").reduce((n, r) => n + r.events, 0)).toBe(30 * 12);
    expect(first.filter((r) => r.period === "day").reduce((n, r) => n + r.events, 0)).toBe(30 * 12);
    // Each histogram counts the events that have a duration.
    for (const r of first) expect(r.latencyHistogram.reduce((a, b) => a + b, 0)).toBe(r.durationCount);

    // Days in UTC (daily rollups), in New York (hourly rollups) and in Kolkata (UTC+5:30: raw events).
    for (const timeZone of ["UTC", "America/New_York", "Asia/Kolkata"]) {
      const rolled = await summary(org.ownerKey, { ...variables, timeZone });
      const expected = (await direct(org.organizationId, from, to, GROUPS, timeZone)).map((r) => ({
        ...r,
        bucket: r.bucket.toISOString(),
      }));
      expect(normalize(rolled, KEYS)).toEqual(normalize(expected, KEYS));
    }

    // Idempotent: rolling the same hours again rebuilds the same rows.
    await rollUpUsage(stack.db, now, { graceMs: 5 * 60_000, lookbackHours: 40, maxHours: 100 });
    expect(await rollupRows(org.organizationId)).toEqual(first);

    // Proof that the rollups were read: with the rolled raw events gone, hour-aligned totals stand.
    const aligned = { ...variables, from: new Date(end.getTime() - 30 * HOUR), to: end };
    const before = await summary(org.ownerKey, aligned);
    expect(before.length).toBeGreaterThan(0);
    await stack.db.usageEvent.deleteMany({ where: { organizationId: org.organizationId, occurredAt: { lt: end } } });
    expect(await summary(org.ownerKey, aligned)).toEqual(before);
  });

  it("leaves whole hours when a run fails halfway, and the next run completes them", async () => {
    const now = new Date();
    const end = floorHour(new Date(now.getTime() - 5 * 60_000));
    const org = await seed("Crashed", end, 5);
    await rolledTo(end);
    const options = { graceMs: 5 * 60_000, lookbackHours: 5, maxHours: 100 };
    const hoursOf = async () =>
      [
        ...new Set(
          (await rollupRows(org.organizationId)).filter((r) => r.period === "hour").map((r) => r.bucketStart.getTime()),
        ),
      ]
        .sort()
        .map((t) => (end.getTime() - t) / HOUR);

    let calls = 0;
    await expect(
      rollUpUsage(stack.db, now, {
        ...options,
        beforeCommit: () => {
          calls++;
          if (calls === 3) throw new Error("the rollup process died");
        },
      }),
    ).rejects.toThrow("the rollup process died");
    // Hours 5 and 4 before `end` were committed whole; the third rolled back entirely.
    expect(await hoursOf()).toEqual([5, 4]);
    const partial = await rollupRows(org.organizationId);
    expect(partial.filter((r) => r.period === "hour").reduce((n, r) => n + r.events, 0)).toBe(2 * 12);

    await rollUpUsage(stack.db, now, options);
    expect(await hoursOf()).toEqual([5, 4, 3, 2, 1]);
    const complete = await rollupRows(org.organizationId);
    await rollUpUsage(stack.db, now, options);
    expect(await rollupRows(org.organizationId)).toEqual(complete);
    const expected = await direct(org.organizationId, new Date(end.getTime() - 5 * HOUR), end, {});
    const hours = complete.filter((r) => r.period === "hour");
    const [total] = expected as [Row];
    expect(hours.reduce((n, r) => n + r.events, 0)).toBe(total.events);
    expect(hours.reduce((n, r) => n + r.errors, 0)).toBe(total.errors);
    expect(hours.reduce((n, r) => n.plus(r.costUsd), new Prisma.Decimal(0)).toFixed()).toBe(
      new Prisma.Decimal(total.costUsd).toFixed(),
    );
  });
});

describe("top and availability", () => {
  it("ranks servers and tools by calls, errors, tokens, cost and p95 latency as SQL over the raw events does, before and after rollup", async () => {
    const org = await createTestOrg(stack, "Ranked");
    const servers = [randomUUID(), randomUUID(), randomUUID()].sort();
    const end = floorHour(new Date(Date.now() - 5 * 60_000));
    const rows: Prisma.UsageEventCreateManyInput[] = [];
    const plan = [
      { serverId: servers[0], calls: 5, errors: 0, duration: (i: number) => 3 + i, tokens: 10, cost: "0.001" },
      { serverId: servers[1], calls: 8, errors: 3, duration: (i: number) => 90 + i * 20, tokens: 1, cost: "0.0001" },
      { serverId: servers[2], calls: 2, errors: 1, duration: () => 40_000, tokens: 100, cost: "0.5" },
    ];
    for (const p of plan) {
      for (let i = 0; i < p.calls; i++) {
        rows.push({
          organizationId: org.organizationId,
          kind: "chat.tool_call",
          serverId: p.serverId,
          toolName: i % 2 ? "write" : "read",
          inputTokens: p.tokens,
          outputTokens: p.tokens,
          costUsd: p.cost,
          durationMs: p.duration(i),
          success: i >= p.errors,
          occurredAt: new Date(end.getTime() - 3 * HOUR + i * 60_000),
        });
      }
    }
    // Other kinds are not calls: they stay out of the default ranking.
    rows.push({ organizationId: org.organizationId, kind: "health.check", serverId: servers[2], durationMs: 1 });
    await stack.db.usageEvent.createMany({ data: rows });
    const from = new Date(end.getTime() - 4 * HOUR);
    const to = new Date(end.getTime() + 60_000);
    // Written into past hours: those hours must not count as rolled yet (as for events on time).
    const rolledTo = (at: Date) =>
      stack.db.usageRollupState.upsert({
        where: { id: 1 },
        create: { id: 1, rolledUntil: at },
        update: { rolledUntil: at },
      });
    await rolledTo(from);

    const top = async (by: string, metric: string) => {
      const res = await request(
        stack.url,
        "GET",
        `/v1/metrics/top?from=${from.toISOString()}&to=${to.toISOString()}&by=${by}&metric=${metric}`,
        { auth: org.ownerKey },
      );
      expect(res.status).toBe(200);
      return res.body.items as Row[];
    };
    const expectedOrder = async (by: string, metric: string) => {
      const target = by === "capabilities" ? `"serverId"::text || '/' || "toolName"` : `"serverId"::text`;
      const measure = {
        calls: "count(*)",
        errors: "count(*) FILTER (WHERE NOT success)",
        tokens: `sum("inputTokens" + "outputTokens")`,
        cost: `sum("costUsd")`,
        p95_latency: `percentile_disc(0.95) WITHIN GROUP (ORDER BY "durationMs")`,
      }[metric];
      const ranked = await stack.db.$queryRawUnsafe<Array<{ target: string; value: number }>>(
        `SELECT ${target} AS target, ${measure}::float8 AS value FROM "UsageEvent"
          WHERE "organizationId" = $1::uuid AND kind = 'chat.tool_call' AND "occurredAt" >= $2 AND "occurredAt" < $3
          GROUP BY 1 ORDER BY 2 DESC, 1`,
        org.organizationId,
        from,
        to,
      );
      return ranked;
    };
    const check = async () => {
      for (const by of ["servers", "capabilities"]) {
        for (const metric of ["calls", "errors", "tokens", "cost", "p95_latency"]) {
          const got = await top(by, metric);
          const expected = await expectedOrder(by, metric);
          const name = (r: Row) => (by === "capabilities" ? `${r.serverId}/${r.toolName}` : r.serverId);
          if (metric === "p95_latency") {
            // Ranked by latency bucket: the raw p95 of each target falls in the bucket reported.
            const bounds = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];
            for (const r of got) {
              const exact = expected.find((e) => e.target === name(r))?.value as number;
              const bound = bounds.find((b) => exact <= b);
              expect(r.p95AboveLastBucket).toBe(bound === undefined);
              if (bound !== undefined) expect(r.p95LatencyMs).toBe(bound);
            }
            expect(got.map(name)[0]).toBe(expected[0]?.target);
          } else {
            expect(got.map(name)).toEqual(expected.map((e) => e.target));
            expect(got.map((r) => r.rank)).toEqual(expected.map((_, i) => i + 1));
          }
        }
      }
    };
    await check();
    const first = await top("servers", "calls");
    expect(first.map((r) => [r.serverId, r.calls, r.errors, r.tokens, r.costUsd])).toEqual([
      [servers[1], 8, 3, 16, "0.0008"],
      [servers[0], 5, 0, 100, "0.005"],
      [servers[2], 2, 1, 400, "1"],
    ]);
    // The same from the rollups.
    await rollUpUsage(stack.db, new Date(), { graceMs: 5 * 60_000, lookbackHours: 1, maxHours: 10 });
    expect((await stack.db.usageRollupState.findUniqueOrThrow({ where: { id: 1 } })).rolledUntil).toEqual(end);
    expect(await top("servers", "calls")).toEqual(first);
    await check();
  });

  it("computes uptime, time in each state, incidents and MTTR from a scripted health history", async () => {
    const org = await createTestOrg(stack, "Available");
    const registered = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "watched", baseUrl: fixture.url, transport: "streamable_http" },
    });
    expect(registered.status).toBe(201);
    const serverId = registered.body.id as string;
    const t0 = new Date(Date.now() - 60 * 60_000);
    const minute = 60_000;
    const history: Array<[number, "healthy" | "degraded" | "unhealthy" | "auth_required"]> = [
      [-5, "unhealthy"], // before the window: its result stands into it until the next check
      [0, "healthy"],
      [1, "healthy"],
      [2, "unhealthy"],
      [3, "unhealthy"],
      [4, "healthy"],
      [5, "degraded"],
      [6, "auth_required"],
      [8, "healthy"],
      // then silence: the last result stands for maxGapSeconds (2 minutes)
    ];
    await stack.db.healthCheck.createMany({
      data: history.map(([m, result]) => ({
        organizationId: org.organizationId,
        serverId,
        result,
        latencyMs: 10,
        checkedAt: new Date(t0.getTime() + m * minute),
      })),
    });
    const res = await request(
      stack.url,
      "GET",
      `/v1/metrics/health?from=${t0.toISOString()}&to=${new Date(t0.getTime() + 20 * minute).toISOString()}&maxGapSeconds=120`,
      { auth: org.ownerKey },
    );
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        serverId,
        checks: 8,
        healthyMs: 5 * minute,
        degradedMs: 1 * minute,
        unhealthyMs: 2 * minute,
        authRequiredMs: 2 * minute,
        unknownMs: 10 * minute,
        uptimePercent: 60,
        incidents: 2,
        openIncident: false,
        mttrMs: 2 * minute,
      },
    ]);
    // Ending in the middle of the second incident: it is open, and only the first is recovered.
    const cut = await request(
      stack.url,
      "GET",
      `/v1/metrics/health?from=${t0.toISOString()}&to=${new Date(t0.getTime() + 7 * minute).toISOString()}&serverId=${serverId}&maxGapSeconds=120`,
      { auth: org.ownerKey },
    );
    expect(cut.body.items[0]).toMatchObject({
      incidents: 2,
      openIncident: true,
      mttrMs: 2 * minute,
      authRequiredMs: minute,
    });
  });
});

describe("budgets", () => {
  it("raises each threshold once a month as an event, and a hard limit refuses chat turns with 402", async () => {
    const org = await createTestOrg(stack, "Budgeted");
    const dev = await org.member("developer");
    const budget = (body: unknown, auth = org.ownerKey) =>
      request(stack.url, "PATCH", "/v1/metrics/budget", { auth, body });
    expect((await budget({ monthlyCostUsd: "ten" })).status).toBe(422);
    expect((await budget({ monthlyRequests: 0 })).status).toBe(422);
    expect((await budget({ monthlyCostUsd: "10.00" }, dev.apiKey)).status).toBe(403);
    const set = await budget({ monthlyCostUsd: "10.00", hardLimit: true });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ monthlyCostUsd: "10", hardLimit: true, exceeded: false, alerts: [] });
    expect(
      await stack.db.auditLog.count({ where: { organizationId: org.organizationId, action: "budget.updated" } }),
    ).toBe(1);

    const server = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "budgeted", baseUrl: "https://budgeted.example.com/mcp" },
    });
    const session = await request(stack.url, "POST", "/v1/chat/sessions", {
      auth: org.ownerKey,
      body: { serverIds: [server.body.id] },
    });
    expect(session.status).toBe(201);

    const spend = (costUsd: string) =>
      stack.db.usageEvent.create({
        data: { organizationId: org.organizationId, kind: "chat.model_call", model: "local", costUsd },
      });
    const crossings = () =>
      stack.db.event.findMany({
        where: { organizationId: org.organizationId, type: "budget.crossed" },
        orderBy: { createdAt: "asc" },
      });
    await spend("7.99");
    await checkBudgets(stack.db);
    expect(await crossings()).toEqual([]);
    await spend("0.01");
    await checkBudgets(stack.db);
    await checkBudgets(stack.db);
    expect((await crossings()).map((e) => e.payload)).toEqual([
      expect.objectContaining({ metric: "cost", threshold: 80, used: "8", budget: "10", hardLimit: true }),
    ]);
    // Under the limit, turns still run.
    expect((await request(stack.url, "GET", "/v1/metrics/budget", { auth: dev.apiKey })).body).toMatchObject({
      costUsd: "8",
      costPercent: 80,
      exceeded: false,
    });

    await spend("2.5");
    await Promise.all([checkBudgets(stack.db), checkBudgets(stack.db)]);
    expect((await crossings()).map((e) => (e.payload as Row).threshold)).toEqual([80, 100]);
    const refused = await request(stack.url, "POST", `/v1/chat/sessions/${session.body.id}/messages`, {
      auth: org.ownerKey,
      body: { content: "hello" },
    });
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({ code: "BUDGET_EXCEEDED", details: { metric: "cost" } });
    expect(await stack.db.chatTurn.count({ where: { sessionId: session.body.id } })).toBe(0);

    // Without the hard limit, crossing is only announced.
    expect((await budget({ hardLimit: false })).body).toMatchObject({ exceeded: false, costPercent: 105 });
    const accepted = await request(stack.url, "POST", `/v1/chat/sessions/${session.body.id}/messages`, {
      auth: org.ownerKey,
      body: { content: "hello" },
    });
    expect(accepted.status).toBe(202);
  });
});
// --- usage analytics (issue 10, S3 exports) ---
const DAY = 24 * HOUR;
// Here, not in a file of its own: it rolls up hours that this file's rollup tests also roll
// (and delete the raw events of), and the files of the suite run in parallel.
describe("usage analytics", () => {
  it("writes one report per final UTC day, once, whose totals equal the raw events of that day", async () => {
    const org = await createTestOrg(stack, "Analytics");
    const server = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "analysed", baseUrl: "https://analytics.example.com/mcp" },
    });
    expect(server.status).toBe(201);
    const serverId = server.body.id as string;

    // The last day the rollup (run below with the default grace and lookback) makes final.
    const now = new Date();
    const rolledTo = floorHour(new Date(now.getTime() - 5 * 60_000)).getTime();
    const day = Math.floor((rolledTo - 2 * HOUR) / DAY) * DAY - DAY;
    const at = (hour: number, minute = 0) => new Date(day + hour * HOUR + minute * 60_000);
    const events: Prisma.UsageEventCreateManyInput[] = [
      { organizationId: org.organizationId, kind: "api.request", occurredAt: at(0, 1) },
      { organizationId: org.organizationId, kind: "api.request", occurredAt: at(23, 59), success: false },
      { organizationId: org.organizationId, kind: "health.check", serverId, occurredAt: at(10), durationMs: 12 },
      {
        organizationId: org.organizationId,
        kind: "chat.model_call",
        model: "local",
        serverId,
        inputTokens: 120,
        outputTokens: 30,
        cachedTokens: 10,
        costUsd: new Prisma.Decimal("0.00012345"),
        occurredAt: at(12, 30),
      },
      // The day before and after: not in this day's report.
      { organizationId: org.organizationId, kind: "api.request", occurredAt: new Date(day - 1) },
      { organizationId: org.organizationId, kind: "api.request", occurredAt: new Date(day + DAY) },
    ];
    await stack.db.usageEvent.createMany({ data: events });
    const hoursBack = Math.ceil((now.getTime() - day) / HOUR) + 2;
    await rollUpUsage(stack.db, now, { graceMs: 5 * 60_000, lookbackHours: hoursBack, maxHours: hoursBack + 2 });

    const name = new Date(day).toISOString().slice(0, 10);
    await stack.redis.del(
      ...[0, 1, 2].map((back) => `${USAGE_ANALYTICS_KEY}${new Date(day - back * DAY).toISOString().slice(0, 10)}`),
    );
    const dir = mkdtempSync(join(tmpdir(), "usage-analytics-"));
    const outputs = new Outputs(dir);
    const scheduler = new Scheduler({
      db: stack.db,
      redis: stack.redis,
      queues: stack.queues,
      env: stack.workerEnv,
      logger: createLogger("test", "silent"),
      keys: stack.keys,
      outputs,
    });
    const written = await scheduler.writeUsageAnalytics();
    expect(written.map((f) => basename(f))).toContain(`${name}.json`);
    const report = JSON.parse(readFileSync(join(outputs.runDir, "usage-analytics", `${name}.json`), "utf8"));
    expect(report.day).toBe(name);

    // What the raw events of that day say, for this organization.
    const [raw] = await stack.db.$queryRaw<Array<Record<string, string>>>`
      SELECT count(*)::text AS events, count(*) FILTER (WHERE NOT success)::text AS errors,
             sum("inputTokens")::text AS "inputTokens", sum("outputTokens")::text AS "outputTokens",
             sum("cachedTokens")::text AS "cachedTokens", sum("costUsd")::text AS "costUsd"
        FROM "UsageEvent"
       WHERE "organizationId" = ${org.organizationId}::uuid
         AND "occurredAt" >= ${new Date(day)} AND "occurredAt" < ${new Date(day + DAY)}`;
    const mine = report.byOrganization.find((o: { organizationId: string }) => o.organizationId === org.organizationId);
    expect(mine).toEqual({
      organizationId: org.organizationId,
      events: Number(raw!.events),
      quantity: Number(raw!.events),
      errors: Number(raw!.errors),
      inputTokens: Number(raw!.inputTokens),
      outputTokens: Number(raw!.outputTokens),
      cachedTokens: Number(raw!.cachedTokens),
      costUsd: raw!.costUsd,
    });
    expect(mine).toMatchObject({ events: 4, errors: 1, inputTokens: 120, costUsd: "0.00012345" });
    const servers = report.byServer.filter((s: { serverId: string }) => s.serverId === serverId);
    expect(servers.map((s: { kind: string; events: number }) => [s.kind, s.events])).toEqual([
      ["chat.model_call", 1],
      ["health.check", 1],
    ]);
    // Totals cover every organization: at least this one's.
    expect(report.totals.events).toBeGreaterThanOrEqual(4);
    expect(report.byKind.map((k: { kind: string }) => k.kind)).toEqual(
      expect.arrayContaining(["api.request", "chat.model_call", "health.check"]),
    );

    // Written once: a second run (or another scheduler) writes nothing for these days.
    expect(await scheduler.writeUsageAnalytics()).toEqual([]);
    await outputs.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
// --- end usage analytics ---
