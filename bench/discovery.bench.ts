import { type FixtureHandle, listEverything, startFixture } from "../test/fixtures/mcp";
import { request } from "../test/support/http";
import { createTestOrg, type Stack, type TestOrg } from "../test/support/stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep, startBenchStack } from "./support/stack";
import { summarize } from "./support/stats";

const CATALOG = { tools: 500, resources: 60, resourceTemplates: 10, prompts: 30, pageSize: 50 };
const TOTAL = CATALOG.tools + CATALOG.resources + CATALOG.resourceTemplates + CATALOG.prompts;
const REPETITIONS = 5;
/** How often the run's row is read: the resolution of the end-to-end figure. */
const POLL_MS = 5;

let stack: Stack;
let org: TestOrg;
let fixture: FixtureHandle;

beforeAll(async () => {
  stack = await startBenchStack({ worker: true });
  org = await createTestOrg(stack, "Bench discovery");
  fixture = await startFixture("rich", CATALOG);
});
afterAll(async () => {
  await stack?.close();
  await fixture?.close();
});

interface Timed {
  label: string;
  /** From the HTTP request that asked for it to the run read back as finished. */
  endToEndMs: number;
  /** Run created → a worker started it. */
  queuedMs: number;
  /** Worker started → `finishedAt`, which the worker stamps when the listing is done, before storing. */
  listingMs: number;
  /** The worker's own figure for discover + store. */
  workerMs: number | null;
  added: number;
  /** List pages fetched, all kinds together. */
  pages: number | null;
  status: string;
}

/** Polls the run until it is finished, and times what the request started. */
async function finished(runId: string, started: number, label: string): Promise<Timed> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = await stack.db.discoveryRun.findUnique({ where: { id: runId } });
    if (run && (run.status === "succeeded" || run.status === "failed")) {
      const endToEndMs = performance.now() - started;
      const summary = (run.summary ?? {}) as { durationMs?: number; added?: number; pages?: Record<string, number> };
      return {
        label,
        endToEndMs,
        queuedMs: run.startedAt ? run.startedAt.getTime() - run.createdAt.getTime() : Number.NaN,
        listingMs: run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : Number.NaN,
        workerMs: summary.durationMs ?? null,
        added: summary.added ?? 0,
        pages: summary.pages ? Object.values(summary.pages).reduce((a, b) => a + b, 0) : null,
        status: run.error ? `${run.status}: ${run.error}` : run.status,
      };
    }
    if (Date.now() > deadline) throw new Error(`discovery run ${runId} did not finish within 60 s`);
    await sleep(POLL_MS);
  }
}

describe("discovery of a large server", () => {
  it("prints the time from the discover request to a succeeded run, against a direct SDK listing", async () => {
    progress(`fixture: ${JSON.stringify(CATALOG)} (${TOTAL} capabilities)`);
    const registeredAt = performance.now();
    const registered = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "bench-rich", baseUrl: fixture.url, transport: "streamable_http" },
    });
    expect(registered.status).toBe(201);
    const serverId = registered.body.id as string;
    const registrationRun = await stack.db.discoveryRun.findFirstOrThrow({
      where: { serverId, trigger: "registration" },
    });
    const runs: Timed[] = [await finished(registrationRun.id, registeredAt, "registration (cold)")];

    // The registration stored everything; forget it so that the first manual run stores it again.
    await stack.db.$executeRawUnsafe(`DELETE FROM "McpCapability" WHERE "serverId" = $1::uuid`, serverId);
    for (let i = 1; i <= REPETITIONS; i++) {
      const started = performance.now();
      const res = await request(stack.url, "POST", `/v1/mcp/servers/${serverId}/discover`, { auth: org.ownerKey });
      expect(res.status).toBe(202);
      runs.push(
        await finished(res.body.jobId, started, i === 1 ? `manual ${i} (stores all)` : `manual ${i} (no change)`),
      );
      progress(`run ${i}: ${runs[runs.length - 1]?.endToEndMs.toFixed(0)} ms`);
    }
    for (const run of runs) expect(run.status).toBe("succeeded");
    expect(runs[1]?.added).toBe(TOTAL);
    expect(runs.slice(2).every((r) => r.added === 0)).toBe(true);

    // The same listing by the SDK client directly, in this process: the floor the worker builds on.
    const direct: number[] = [];
    await listEverything(fixture.url, "streamable_http"); // warm-up
    for (let i = 0; i < REPETITIONS; i++) {
      const started = performance.now();
      const everything = await listEverything(fixture.url, "streamable_http");
      direct.push(performance.now() - started);
      expect(everything.tools.length + everything.resources.length).toBe(CATALOG.tools + CATALOG.resources);
    }

    printTable(
      `discovery of ${TOTAL} capabilities (${CATALOG.tools} tools, page size ${CATALOG.pageSize}), in-process worker`,
      ["run", "end-to-end ms", "queued ms", "listing ms", "discover+store ms", "≈ store ms", "added", "pages"],
      runs.map((r) => [
        r.label,
        r.endToEndMs,
        r.queuedMs,
        r.listingMs,
        r.workerMs,
        r.workerMs === null ? null : r.workerMs - r.listingMs,
        r.added,
        r.pages,
      ]),
      `end-to-end: POST → run read back as succeeded (polled every ${POLL_MS} ms). queued: run created → startedAt;\n` +
        "listing: startedAt → finishedAt (stamped after the listing); discover+store: the worker's summary.durationMs.\n" +
        conditionsNote(),
    );
    const manual = summarize(runs.slice(1).map((r) => r.endToEndMs));
    const unchanged = summarize(runs.slice(2).map((r) => r.endToEndMs));
    const sdk = summarize(direct);
    printTable(
      "discovery summary",
      ["measure", "n", "p50 ms", "max ms"],
      [
        ["manual discover, all runs", manual.count, manual.p50, manual.max],
        ["manual discover, no change", unchanged.count, unchanged.p50, unchanged.max],
        ["listEverything (SDK, direct)", sdk.count, sdk.p50, sdk.max],
        ["overhead p50 (no change − SDK)", null, unchanged.p50 - sdk.p50, null],
      ],
    );
    const file = await writeResults("discovery", {
      catalog: CATALOG,
      total: TOTAL,
      runs,
      summary: { manual, unchanged, listEverything: sdk },
      listEverythingMs: direct,
    });
    progress(`written ${file}`);
  });
});
