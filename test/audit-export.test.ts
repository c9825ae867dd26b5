import { readdirSync, readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { appendEntries } from "./support/audit-entries";
import { graphql, request } from "./support/http";
import { freshDatabase } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

/** Where the test stack writes its outputs (OUTPUTS_DIR=outputs/test). */
const OUTPUTS_ROOT = join(__dirname, "..", "outputs", "test");

// Its own database: the 100,000 entries of the size test stay out of the suite's append-only
// log (which cannot be cleaned), and the database is dropped at the end.
// A full collection on demand, to measure what the heap retains rather than its garbage.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let database: Awaited<ReturnType<typeof freshDatabase>>;
let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  database = await freshDatabase("audit_export");
  stack = await startStack({ DATABASE_URL: database.url });
  org = await createTestOrg(stack, "Exported");
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await database?.drop();
});

/** Reads a streamed export chunk by chunk, keeping only counts and the first and last lines. */
async function streamExport(
  auth: string,
  query: string,
  onChunk: (bytes: number) => void = () => {},
): Promise<{ status: number; headers: Headers; bytes: number; lines: number; head: string; tail: string }> {
  const res = await fetch(`${stack.url}/v1/audit/logs?${query}`, { headers: { authorization: `Bearer ${auth}` } });
  let bytes = 0;
  let lines = 0;
  let head = "";
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    const text = decoder.decode(chunk, { stream: true });
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
    if (head.length < 4096) head += text.slice(0, 4096);
    tail = (tail + text).slice(-4096);
    onChunk(chunk.length);
  }
  return { status: res.status, headers: res.headers, bytes, lines, head, tail };
}

async function exportText(auth: string, query: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${stack.url}/v1/audit/logs?${query}`, { headers: { authorization: `Bearer ${auth}` } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe("audit log export", () => {
  it("streams 100,000 entries as CSV while the process retains far less than holding them would take", async () => {
    const big = await createTestOrg(stack, "Big");
    const N = 100_000;
    await appendEntries(database.url, big.organizationId, N, (i) => ({
      actorId: `user-${i % 97}`,
      action: i % 2 ? "bulk.odd" : "bulk.even",
      targetId: `target-${i}`,
      data: { i, note: 'a, "quoted" value' },
    }));
    const total = await stack.db.auditLog.count({ where: { organizationId: big.organizationId } });
    expect(total).toBeGreaterThan(N);

    // What the heap holds (after a full collection) before, and at every ~2 MB received during,
    // the export: garbage comes and goes, what is retained stays.
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = retained();
    let peak = before;
    let received = 0;
    const result = await streamExport(big.ownerKey, "format=csv", (bytes) => {
      received += bytes;
      if (received < 2_000_000) return;
      received = 0;
      peak = Math.max(peak, retained());
    });
    expect(result.status).toBe(200);
    expect(result.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(result.headers.get("x-audit-export-rows")).toBe(String(total));
    expect(result.lines).toBe(total + 1); // the header, then one line per entry
    expect(result.head.split("\r\n")[0]).toBe(
      "seq,id,createdAt,actorType,actorId,action,targetType,targetId,requestId,ip,data,prevHash,hash",
    );
    // Newest first, down to the organization's first entry.
    expect(result.head.split("\r\n")[1]).toMatch(new RegExp(`^${total},`));
    expect(result.tail.trimEnd().split("\r\n").at(-1)).toMatch(/^1,/);

    // Held at once, the export's text alone (UTF-16: 2 bytes a character) would take twice its
    // size, before the row objects that produce it. Streamed, a page of 1,000 entries at a time
    // is in flight (in the gateway, the admin subgraph and this client, all in this process).
    const growth = peak - before;
    const heldAtOnce = result.bytes * 2;
    process.stdout.write(
      `audit export: ${result.bytes} bytes, ${total} rows, retained heap growth ${(growth / 1e6).toFixed(1)} MB (holding the text: ${(heldAtOnce / 1e6).toFixed(1)} MB)\n`,
    );
    expect(growth).toBeLessThan(heldAtOnce / 4);
  }, 300_000);

  it("applies the filters of GET /v1/audit/logs and returns the same entries, in JSON and NDJSON", async () => {
    const filtered = await createTestOrg(stack, "Filtered");
    const t0 = new Date(Date.now() - 3_600_000);
    await appendEntries(database.url, filtered.organizationId, 30, (i) => ({
      actorId: i % 3 === 0 ? "alice" : "bob",
      action: i % 2 ? "thing.changed" : "thing.made",
      targetId: `t-${i % 5}`,
      createdAt: new Date(t0.getTime() + i * 60_000),
    }));
    const from = new Date(t0.getTime() + 5 * 60_000).toISOString();
    const to = new Date(t0.getTime() + 25 * 60_000).toISOString();
    const filters = `action=thing.changed&actorId=bob&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const page = await request(stack.url, "GET", `/v1/audit/logs?${filters}&limit=100`, { auth: filtered.ownerKey });
    expect(page.status).toBe(200);
    const expected = page.body.items.map((e: { id: string }) => e.id);
    expect(expected.length).toBeGreaterThan(3);

    const json = await exportText(filtered.ownerKey, `format=json&${filters}`);
    expect(json.status).toBe(200);
    const doc = JSON.parse(json.body);
    expect(doc.export).toMatchObject({
      format: "json",
      rows: expected.length,
      action: "thing.changed",
      actorId: "bob",
    });
    expect(doc.items.map((e: { id: string }) => e.id)).toEqual(expected);
    expect(doc.items[0]).toEqual(page.body.items[0]);

    const ndjson = await exportText(filtered.ownerKey, `format=ndjson&${filters}&targetId=t-1`);
    expect(ndjson.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const lines = ndjson.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((e) => e.targetId === "t-1" && e.actorId === "bob" && e.action === "thing.changed")).toBe(true);
    expect(lines.map((e) => e.id)).toEqual(
      page.body.items.filter((e: { targetId: string }) => e.targetId === "t-1").map((e: { id: string }) => e.id),
    );
  });

  it("escapes CSV fields and defuses formulas", async () => {
    const hostile = await createTestOrg(stack, "Hostile");
    await appendEntries(database.url, hostile.organizationId, 1, () => ({
      actorId: '=HYPERLINK("http://evil.example","x")',
      action: "hostile.entry",
      targetId: "+1,2\nthree",
      data: { note: "-5" },
    }));
    const csv = await exportText(hostile.ownerKey, "format=csv&action=hostile.entry");
    expect(csv.status).toBe(200);
    const row = csv.body.split("\r\n")[1] as string;
    expect(row).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(row).toContain(`"'+1,2\nthree"`);
    expect(row).toContain(`"{""note"":""-5""}"`);
  });

  it("records each export as an audit entry of its own (actor, format, filters), which the export itself does not hold", async () => {
    const own = await createTestOrg(stack, "Own");
    const res = await exportText(own.ownerKey, "format=ndjson&action=server.registered");
    expect(res.status).toBe(200);
    const id = res.headers.get("x-audit-export-id") as string;
    const entry = await stack.db.auditLog.findUniqueOrThrow({ where: { id } });
    const key = await stack.db.apiKey.findFirstOrThrow({ where: { organizationId: own.organizationId } });
    expect(entry).toMatchObject({
      organizationId: own.organizationId,
      action: "audit.exported",
      actorType: "api_key",
      actorId: key.id,
      targetType: "audit_log",
      data: {
        format: "ndjson",
        filters: { action: "server.registered", targetId: null, actorId: null, from: null, to: null },
        rows: Number(res.headers.get("x-audit-export-rows")),
      },
    });
    // The same bytes are written to outputs/<timestamp>/audit-exports/ (and S3 when configured).
    const files = readdirSync(OUTPUTS_ROOT, { recursive: true, encoding: "utf8" }).filter(
      (f) => !f.startsWith(`latest${sep}`) && f.endsWith(`audit-exports${sep}audit-log-${id}.ndjson`),
    );
    expect(files).toHaveLength(1);
    expect(readFileSync(join(OUTPUTS_ROOT, files[0] as string), "utf8")).toBe(res.body);
    const all = await exportText(own.ownerKey, "format=ndjson");
    const ids = all.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).id);
    expect(ids[0]).toBe(id); // the previous export, newest
    expect(ids).not.toContain(all.headers.get("x-audit-export-id"));
    expect(Number(all.headers.get("x-audit-export-rows"))).toBe(ids.length);
  });

  it("needs audit:read (403 for a developer, 401 without credentials) and records nothing when refused", async () => {
    const guarded = await createTestOrg(stack, "Guarded");
    const developer = await guarded.member("developer");
    const count = () =>
      stack.db.auditLog.count({ where: { organizationId: guarded.organizationId, action: "audit.exported" } });
    const refused = await request(stack.url, "GET", "/v1/audit/logs?format=csv", { auth: developer.apiKey });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("FORBIDDEN");
    expect((await request(stack.url, "GET", "/v1/audit/logs/export")).status).toBe(401);
    expect(await count()).toBe(0);
    const admin = await guarded.member("admin");
    expect((await exportText(admin.apiKey, "format=json")).status).toBe(200);
    expect(await count()).toBe(1);
  });

  it("does not serve another organization's export pages", async () => {
    const other = await createTestOrg(stack, "Other");
    const res = await exportText(org.ownerKey, "format=json");
    const exportId = res.headers.get("x-audit-export-id");
    const page = await graphql(
      stack.url,
      other.ownerKey,
      `query($id: ID!) { auditLogExportPage(exportId: $id) { items { id } } }`,
      { id: exportId },
    );
    expect(page.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  it("refuses an unknown format, an unknown parameter and a bad date with 400, and keeps the JSON page without format", async () => {
    for (const query of [
      "format=xml",
      "format=csv&colour=red",
      "format=csv&from=yesterday",
      "format=csv&format=json",
    ]) {
      const res = await request(stack.url, "GET", `/v1/audit/logs?${query}`, { auth: org.ownerKey });
      expect([query, res.status, res.body.error?.code]).toEqual([query, 400, "BAD_REQUEST"]);
    }
    const page = await request(stack.url, "GET", "/v1/audit/logs?limit=2", { auth: org.ownerKey });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ items: expect.any(Array), nextCursor: expect.anything() });
  });

  it("is described in /v1/openapi.json with its formats, filters and the entry schema of auditLogs", async () => {
    const doc = (await request(stack.url, "GET", "/v1/openapi.json")).body;
    const exported = doc.paths["/v1/audit/logs/export"].get;
    expect(exported.parameters.map((p: { name: string }) => p.name)).toEqual([
      "format",
      "action",
      "targetId",
      "actorId",
      "from",
      "to",
    ]);
    expect(Object.keys(exported.responses["200"].content)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^text\/csv/), expect.stringMatching(/^application\/x-ndjson/)]),
    );
    const json = exported.responses["200"].content["application/json; charset=utf-8"];
    expect(json.schema.properties.items.items.properties).toHaveProperty("hash");
    expect(doc.paths["/v1/audit/logs"].get.operationId).toBe("listAuditLogs");
  });
});
