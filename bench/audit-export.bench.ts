import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  createPrisma,
  type PrismaClient,
  parseEnv,
  resolveAppDatabaseUrl,
  resolveKeys,
  subgraphEnvSchema,
} from "@sprintconnect/core";
import { appendEntries } from "../test/support/audit-entries";
import { BENCH_DATABASE_URL } from "./support/env";
import { type ProcessStack, startProcessStack } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress } from "./support/stack";

/**
 * `GET /v1/audit/logs?format=csv` on the stack as `npm start` runs it, with every process's old
 * space capped: how the gateway's and the admin subgraph's resident memory grow while 1,000 and
 * 100,000 entries stream, and the export's rows/s against the baseline of paging the same log
 * through `GET /v1/audit/logs?limit=100` in the same run.
 */
const SIZES = [1_000, 100_000];
/** Entries the list baseline pages through at most. */
const LIST_MOST = 10_000;
const MB = 1024 * 1024;

let stack: ProcessStack;
let db: PrismaClient;
let pepper: string;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return (Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024) / MB;
}

/** Runs `fn` while sampling the RSS of `pids` every 20 ms; the peak growth of each over its start. */
async function withRss<T>(pids: Record<string, number>, fn: () => Promise<T>) {
  const start = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, rssMb(pid)]));
  const peak = { ...start };
  const timer = setInterval(() => {
    for (const [n, pid] of Object.entries(pids)) peak[n] = Math.max(peak[n] ?? 0, rssMb(pid));
  }, 20);
  const began = performance.now();
  try {
    const result = await fn();
    return {
      result,
      ms: performance.now() - began,
      growthMb: Object.fromEntries(Object.keys(pids).map((n) => [n, (peak[n] ?? 0) - (start[n] ?? 0)])),
    };
  } finally {
    clearInterval(timer);
  }
}

async function org(name: string): Promise<{ organizationId: string; key: string }> {
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const created = await createOrganization(db, pepper, {
    name: `${name} ${unique}`,
    ownerEmail: `o-${unique}@example.test`,
  });
  return { organizationId: created.organizationId, key: created.apiKey };
}

/** Streams the export, counting bytes; the body is never held. */
async function exportCsv(key: string): Promise<{ bytes: number; rows: number }> {
  const res = await fetch(`${stack.url}/v1/audit/logs?format=csv`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`export answered ${res.status}`);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return { bytes, rows: Number(res.headers.get("x-audit-export-rows")) };
}

/**
 * The baseline: the same log, page by page through the JSON list (100 a page, the most it
 * gives), up to `most` entries. (Paging all 100,000 this way, 1,000 requests, ran the capped
 * gateway out of memory in one run: its heap after many requests is a question of its own.)
 */
async function pageList(key: string, most: number): Promise<{ rows: number }> {
  let rows = 0;
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await fetch(`${stack.url}/v1/audit/logs?${query}`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.json()) as { items: unknown[]; nextCursor: string | null };
    rows += body.items.length;
    cursor = body.nextCursor;
  } while (cursor && rows < most);
  return { rows };
}

/**
 * Every process's V8 old space is capped (NODE_OPTIONS) below what holding 100,000 entries would
 * take: the gateway lives on about 52 MB of old space once it has served (seen in its GC trace
 * when a 64 MB cap was tried: too tight even for paging the list), and the entries' 28 MB of CSV
 * are 56 MB as one JS string alone, before the row objects. An export that held them would end
 * in an out-of-memory crash instead of completing.
 */
const OLD_SPACE_MB = 96;

beforeAll(async () => {
  stack = await startProcessStack({ NODE_OPTIONS: `--max-old-space-size=${OLD_SPACE_MB}` });
  const env = parseEnv(subgraphEnvSchema, { ...process.env, ...stack.env });
  pepper = resolveKeys(env).apiKeyPepper;
  db = createPrisma({ DATABASE_URL: resolveAppDatabaseUrl(env), DATABASE_POOL_SIZE: 2, DATABASE_MAX_OVERFLOW: 0 });
}, 300_000);
afterAll(async () => {
  await db?.$disconnect();
  await stack?.stop();
});

it("streams the audit log in memory that does not grow with its size", async () => {
  const pids = { gateway: stack.pids.gateway as number, admin: stack.pids.admin as number };
  const rows: Array<Array<string | number>> = [];
  const results: Record<string, unknown>[] = [];
  for (const size of SIZES) {
    const o = await org(`Bench audit ${size}`);
    progress(`appending ${size} audit entries`);
    await appendEntries(BENCH_DATABASE_URL, o.organizationId, size, (i) => ({
      actorId: `user-${i % 97}`,
      action: i % 2 ? "bulk.odd" : "bulk.even",
      targetId: `target-${i}`,
      data: { i, note: 'a, "quoted" value' },
    }));
    const exported = await withRss(pids, () => exportCsv(o.key));
    const listed = await withRss(pids, () => pageList(o.key, LIST_MOST));
    const exportRps = exported.result.rows / (exported.ms / 1000);
    const listRps = listed.result.rows / (listed.ms / 1000);
    rows.push(
      [
        `csv export, ${size} entries`,
        exported.result.rows,
        (exported.result.bytes / MB).toFixed(1),
        exportRps.toFixed(0),
        (exportRps / listRps).toFixed(2),
        (exported.growthMb.gateway ?? 0).toFixed(1),
        (exported.growthMb.admin ?? 0).toFixed(1),
        loadavg()[0]?.toFixed(2) ?? "-",
      ],
      [
        `baseline: list pages of 100, first ${Math.min(size, LIST_MOST)} of ${size}`,
        listed.result.rows,
        "-",
        listRps.toFixed(0),
        "1.00",
        (listed.growthMb.gateway ?? 0).toFixed(1),
        (listed.growthMb.admin ?? 0).toFixed(1),
        loadavg()[0]?.toFixed(2) ?? "-",
      ],
    );
    results.push({ size, exported, listed, exportRps, listRps, loadAverage: loadavg() });
  }
  printTable(
    "audit log export (GET /v1/audit/logs?format=csv) on the stack as npm start runs it",
    ["run", "rows", "MB sent", "rows/s", "× list", "gateway RSS +MB", "admin RSS +MB", "load avg 1m"],
    rows,
    `Every process runs with --max-old-space-size=${OLD_SPACE_MB}: holding the 100,000 entries would not fit.\n` +
      "RSS +MB: the peak resident set during the run over its value at the start (sampled every 20 ms from /proc);\n" +
      "it includes garbage not yet collected (the list baseline, which holds nothing between pages, grows too).\n" +
      "`× list`: rows/s over paging the same entries through the JSON list (100 a page) in the same run.\n" +
      conditionsNote(),
  );
  progress(`written ${await writeResults("audit-export", results)}`);
}, 600_000);
