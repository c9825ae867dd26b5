import { randomUUID } from "node:crypto";
import { floorHour, Prisma, rollUpUsage } from "@sprintconnect/core";
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
