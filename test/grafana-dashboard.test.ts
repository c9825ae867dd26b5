import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { safeLoad } from "js-yaml";
import { Client } from "pg";
import { collectDefaultMetrics, Registry } from "prom-client";
import { TEST_DATABASE_URL } from "./support/env";

const ROOT = join(__dirname, "..");
const DASHBOARD_PATH = join(ROOT, "docs", "grafana", "sprintconnect.json");

interface Target {
  datasource: { type: string; uid: string };
  refId: string;
  expr?: string;
  legendFormat?: string;
  rawSql?: string;
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Metric {
  type: string;
  labels: string[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, "utf8"));
const panels: Panel[] = dashboard.panels.filter((p: Panel) => p.type !== "row");
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const promTargets = targets.filter((t) => t.datasource.type === "prometheus");
const sqlTargets = targets.filter((t) => t.datasource.type === "grafana-postgresql-datasource");

/** Source files of the processes, where metrics are registered. */
function sourceFiles(): string[] {
  const roots = ["gateway/src", "worker/src", ...["packages", "subgraphs"].flatMap(listSrc)];
  return roots.flatMap((root) =>
    readdirSync(join(ROOT, root), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
      .map((f) => join(ROOT, root, f)),
  );
}

function listSrc(parent: string): string[] {
  return readdirSync(join(ROOT, parent)).map((name) => `${parent}/${name}/src`);
}

/**
 * Every metric the code registers with prom-client (`new Counter({ name: "…", labelNames: […] })`
 * and the like), and prom-client's default metrics where a process collects them.
 */
async function registeredMetrics(): Promise<Map<string, Metric>> {
  const metrics = new Map<string, Metric>();
  let collectsDefaults = false;
  for (const file of sourceFiles()) {
    const text = readFileSync(file, "utf8");
    if (text.includes("collectDefaultMetrics(")) collectsDefaults = true;
    for (const match of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{/g)) {
      // The options object: up to the next constructor call.
      const rest = text.slice(match.index + match[0].length);
      const options = rest.slice(0, rest.search(/new (Counter|Gauge|Histogram|Summary)\(\{|$/));
      const name = /^\s*name:\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"/.exec(options)?.[1];
      if (!name) continue;
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(options)?.[1] ?? "";
      metrics.set(name, {
        type: match[1]!.toLowerCase(),
        labels: [...labels.matchAll(/"([^"]+)"/g)].map((m) => m[1]!),
      });
    }
  }
  if (collectsDefaults) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    for (const metric of await registry.getMetricsAsJSON()) {
      metrics.set(metric.name, { type: String(metric.type), labels: [] });
    }
  }
  return metrics;
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

/** The metric names, grouping labels and matcher labels of a PromQL expression. */
function parsePromQL(expr: string): { metrics: string[]; grouping: string[]; matchers: string[] } {
  const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
    [...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!),
  );
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(",")
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, "");
  const metrics = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    // A name followed by "(" is a function or aggregation.
    .filter((m) => !/^\s*\(/.test(stripped.slice(m.index + m[0].length)))
    .map((m) => m[0])
    .filter((token) => !FUNCTIONS_AND_KEYWORDS.has(token));
  return { metrics: [...new Set(metrics)], grouping, matchers };
}

/** The registered metric a series name belongs to (a histogram's `_bucket`, `_sum`, `_count`). */
function resolveSeries(series: string, registered: Map<string, Metric>): { name: string; metric: Metric } | null {
  const exact = registered.get(series);
  if (exact) return { name: series, metric: exact };
  const suffix = /_(bucket|sum|count)$/.exec(series);
  if (!suffix) return null;
  const base = series.slice(0, -suffix[0].length);
  const metric = registered.get(base);
  if (!metric) return null;
  if (suffix[1] === "bucket" ? metric.type !== "histogram" : !["histogram", "summary"].includes(metric.type)) {
    return null;
  }
  return { name: base, metric };
}

/** Labels every series has from the scrape (Prometheus' target labels), besides its own. */
const TARGET_LABELS = ["instance", "job"];

describe("the Grafana dashboard", () => {
  it("is a dashboard of schema version 39 with datasource variables for Prometheus and PostgreSQL", () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe("sprintconnect");
    const variables = dashboard.templating.list.map((v: { name: string; type: string }) => `${v.name}:${v.type}`);
    expect(variables).toEqual(expect.arrayContaining(["DS_PROMETHEUS:datasource", "DS_POSTGRES:datasource"]));
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource).toEqual(panel.datasource);
        // Grafana's own `${…}` references to the datasource variables, not template literals.
        expect(["DS_PROMETHEUS", "DS_POSTGRES"].map((name) => `\${${name}}`)).toContain(target.datasource.uid);
      }
    }
    expect(promTargets.length).toBeGreaterThan(10);
    expect(sqlTargets.length).toBeGreaterThanOrEqual(3);
  });

  it("names in every Prometheus expression only metrics and labels that the code registers", async () => {
    const registered = await registeredMetrics();
    // The scan found the metrics of both processes (a broken scan would make this test vacuous).
    expect([...registered.keys()]).toEqual(
      expect.arrayContaining(["http_request_duration_seconds", "worker_jobs_total", "output_uploads_total"]),
    );
    const problems: string[] = [];
    const used = new Set<string>();
    for (const target of promTargets) {
      const { metrics, grouping, matchers } = parsePromQL(target.expr!);
      if (metrics.length === 0) problems.push(`${target.panel}: no metric in ${target.expr}`);
      const labels = new Set(TARGET_LABELS);
      for (const series of metrics) {
        const found = resolveSeries(series, registered);
        if (!found) {
          problems.push(`${target.panel}: ${series} is not registered`);
          continue;
        }
        used.add(found.name);
        for (const label of found.metric.labels) labels.add(label);
        if (found.metric.type === "histogram") labels.add("le");
      }
      for (const label of [...grouping, ...matchers]) {
        if (!labels.has(label)) problems.push(`${target.panel}: label ${label} is not on ${metrics.join(", ")}`);
      }
      // A legend can only show labels the aggregation keeps.
      const legend = [...(target.legendFormat ?? "").matchAll(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g)].map((m) => m[1]!);
      const kept =
        grouping.length > 0
          ? new Set(grouping)
          : /\b(sum|max|min|avg|count)\s*\(/.test(target.expr!)
            ? new Set<string>()
            : labels;
      for (const label of legend) {
        if (!kept.has(label)) problems.push(`${target.panel}: the legend shows ${label}, which the query drops`);
      }
    }
    expect(problems).toEqual([]);
    // Every metric of our own is on the dashboard.
    const ours = [...registered.keys()].filter((name) => !/^(process|nodejs)_/.test(name));
    expect(ours.filter((name) => !used.has(name))).toEqual([]);
  });

  it("runs every PostgreSQL panel's query and variable query against the schema, returning the rollups", async () => {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query("BEGIN");
      const org = randomUUID();
      const server = randomUUID();
      await client.query(
        `INSERT INTO "Organization" (id, name, slug, "updatedAt") VALUES ($1, 'Grafana org', $2, now())`,
        [org, `grafana-${org}`],
      );
      await client.query(
        `INSERT INTO "McpServer" (id, "organizationId", name, "baseUrl", "updatedAt")
         VALUES ($1, $2, 'grafana server', 'https://mcp.example.test/mcp', now())`,
        [server, org],
      );
      for (const [period, bucketStart] of [
        ["hour", "2026-01-01T10:00:00Z"],
        ["day", "2026-01-01T00:00:00Z"],
      ]) {
        await client.query(
          `INSERT INTO "UsageRollup" ("organizationId", period, "bucketStart", kind, "serverId", model, events,
             quantity, errors, "inputTokens", "outputTokens", "cachedTokens", "costUsd", "durationMsSum",
             "durationCount", "latencyHistogram")
           VALUES ($1, $2, $3, 'tool_call', $4, 'local', 7, 7, 1, 100, 50, 0, 0.25, 700, 7, '{}')`,
          [org, period, bucketStart, server],
        );
      }
      const variable = dashboard.templating.list.find((v: { name: string }) => v.name === "organization");
      const orgs = await client.query(variable.query);
      expect(orgs.rows).toEqual(expect.arrayContaining([{ __value: org, __text: "Grafana org" }]));

      for (const target of sqlTargets) {
        const sql = target
          .rawSql!.replace(/\$__timeFilter\(([^)]+)\)/g, "$1 BETWEEN '2026-01-01T00:00:00Z' AND '2026-01-02T00:00:00Z'")
          .replace(/\$organization\b/g, `'${org}'`);
        expect(sql).not.toContain("$");
        await client.query("SAVEPOINT panel");
        const result = await client.query(sql).catch((error: Error) => {
          throw new Error(`${target.panel}: ${error.message}`);
        });
        await client.query("ROLLBACK TO SAVEPOINT panel");
        expect({ panel: target.panel, rows: result.rows.length > 0 }).toEqual({ panel: target.panel, rows: true });
        const columns = result.fields.map((f) => f.name);
        if (panels.find((p) => p.title === target.panel)?.type === "timeseries") {
          expect(columns).toEqual(["time", "metric", "value"]);
        }
      }
    } finally {
      await client.query("ROLLBACK");
      await client.end();
    }
  });

  it("is served by a compose file whose mounts exist and whose Prometheus scrapes the stack's gateway and worker", () => {
    const compose = safeLoad(readFileSync(join(ROOT, "docs", "grafana", "compose.yml"), "utf8")) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = Object.values(compose.services).flatMap((s) => s.volumes ?? []);
    for (const source of mounts.map((m) => m.split(":")[0]!).filter((m) => m.startsWith("./"))) {
      expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
    }
    const stack = safeLoad(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const prometheus = safeLoad(readFileSync(join(ROOT, "docs", "grafana", "prometheus.yml"), "utf8")) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((c) => [c.job_name, c.static_configs[0]!.targets]),
    );
    expect(targets).toEqual({
      gateway: ["gateway:4000"],
      worker: [`worker:${stack.services.worker!.environment!.PROMETHEUS_METRICS_PORT}`],
    });
  });
});
