// --- traces (issue 10) ---
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  cliEnvSchema,
  createPrisma,
  ensureDatabase,
  grantAppRole,
  migrate,
  parseEnv,
  resolveKeys,
} from "@sprintconnect/core";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { appDatabaseUrl, TEST_DATABASE_URL } from "./support/env";
import { request } from "./support/http";
import { type ProcessStack, startProcessStack } from "./support/process-stack";
import { waitFor } from "./support/wait";

jest.setTimeout(180_000);

/**
 * A database of the processes' own: with the suite's shared one, other files' stacks would
 * publish this test's outbox events (their relays share the Event table) and their pending
 * discoveries would run in this stack's worker — in traces of their own, or none.
 */
const DATABASE_URL = (() => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname}_tracing`;
  return url.toString();
})();

beforeAll(async () => {
  await ensureDatabase(DATABASE_URL);
  await migrate(DATABASE_URL);
  await grantAppRole(DATABASE_URL, appDatabaseUrl(DATABASE_URL));
}, 120_000);

/** One span as OTLP/HTTP JSON carries it, with its process's service name. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

/** An OTLP/HTTP receiver on loopback (JSON encoding): keeps every span posted to /v1/traces. */
async function startReceiver(): Promise<{ endpoint: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url !== "/v1/traces" || req.headers["content-type"] !== "application/json") {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = attributes(resourceSpans.resource?.attributes)["service.name"] as string;
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: attributes(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () =>
      new Promise((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

function attributes(list: Array<{ key: string; value: Record<string, unknown> }> = []): Record<string, unknown> {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}

/** An organization and its owner's API key, written as the processes' database role. */
async function createOrg(): Promise<string> {
  const env = parseEnv(cliEnvSchema, { DATABASE_URL });
  const db = createPrisma({
    DATABASE_URL: appDatabaseUrl(DATABASE_URL),
    DATABASE_POOL_SIZE: 1,
    DATABASE_MAX_OVERFLOW: 0,
  });
  try {
    const unique = Math.random().toString(36).slice(2, 10);
    const created = await createOrganization(db, resolveKeys(env).apiKeyPepper, {
      name: `Traced ${unique}`,
      ownerEmail: `owner-${unique}@example.test`,
    });
    return created.apiKey;
  } finally {
    await db.$disconnect();
  }
}

/** Registers the fixture server through the gateway and waits for its discovery (the worker's job). */
async function registerAndDiscover(
  stack: ProcessStack,
  apiKey: string,
  fixture: FixtureHandle,
  query = "",
): Promise<string> {
  const created = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: apiKey,
    body: { name: `traced-${Date.now()}`, baseUrl: `${fixture.url}${query}`, transport: "streamable_http" },
  });
  expect(created.status).toBe(201);
  const serverId = created.body.id as string;
  const done = await waitFor(
    "the discovery",
    async () => {
      const res = await request(stack.url, "GET", `/v1/mcp/servers/${serverId}`, { auth: apiKey });
      return ["succeeded", "failed"].includes(res.body.discovery.status) ? res.body : undefined;
    },
    60_000,
  );
  expect(done.discovery.status).toBe("succeeded");
  return serverId;
}

describe("traces (OpenTelemetry)", () => {
  it("follows one registration from the gateway through the registry subgraph to the worker's discovery job and its MCP call", async () => {
    const receiver = await startReceiver();
    const fixture = await startFixture("rich", { tools: 2, resources: 1, prompts: 1, resourceTemplates: 1 });
    const stack = await startProcessStack({
      DATABASE_URL,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OUTBOX_POLL_INTERVAL_MS: "100",
    });
    // A webhook receiver on loopback: the delivery of the discovery's event continues the trace.
    const traceparents: string[] = [];
    const bodies: string[] = [];
    const hooks = createServer((req, res) => {
      traceparents.push(String(req.headers.traceparent ?? ""));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(Buffer.concat(chunks).toString("utf8"));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((done) => hooks.listen(0, "127.0.0.1", done));
    try {
      const apiKey = await createOrg();
      const webhook = await request(stack.url, "POST", "/v1/webhooks", {
        auth: apiKey,
        body: {
          url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`,
          eventTypes: ["discovery.completed"],
        },
      });
      expect(webhook.status).toBe(201);
      // A token in the server's URL (some servers take one there) must not reach the traces.
      await registerAndDiscover(stack, apiKey, fixture, "?key=tracing-secret-123");

      // The worker's discovery span of this fixture (the scheduler may also run other test
      // files' pending discoveries: those start traces of their own), then everything of its trace.
      const fixtureHost = new URL(fixture.url).host;
      const mcpSpan = await waitFor(
        "the worker's MCP discovery span",
        async () =>
          receiver.spans.find((s) => s.name === "mcp discover" && s.attributes["server.address"] === fixtureHost),
        30_000,
      );
      const trace = () => receiver.spans.filter((s) => s.traceId === mcpSpan.traceId);
      const byId = () => new Map(trace().map((s) => [s.spanId, s]));
      const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
        const chain: ReceivedSpan[] = [];
        let parent = span.parentSpanId ? byId().get(span.parentSpanId) : undefined;
        while (parent) {
          chain.push(parent);
          parent = parent.parentSpanId ? byId().get(parent.parentSpanId) : undefined;
        }
        return chain;
      };
      // Spans are exported in batches per process: wait until the chain up to the root is complete.
      const root = await waitFor(
        "the whole chain from the MCP call up to the gateway's request",
        async () => {
          const chain = ancestors(mcpSpan);
          const top = chain.at(-1);
          return top && !top.parentSpanId ? top : undefined;
        },
        30_000,
      );
      const chain = ancestors(mcpSpan);

      // The root: the gateway's server span for the REST request.
      expect(root.service).toBe("sprintconnect-gateway");
      expect(root.kind).toBe(2); // SERVER
      expect(root.attributes["http.method"] ?? root.attributes["http.request.method"]).toBe("POST");

      // The MCP call is a child of the worker's job span, which continues the registry's trace.
      const job = chain[0]!;
      expect(job).toMatchObject({ service: "sprintconnect-worker", name: "job discovery", kind: 5 }); // CONSUMER
      expect(job.attributes).toMatchObject({ "job.name": "discovery", "job.outcome": "succeeded", "job.attempt": 1 });
      expect(byId().get(job.parentSpanId!)?.service).toBe("sprintconnect-registry");

      // The registry's server span is a child of the gateway's subgraph fetch (undici, W3C traceparent).
      const registryServer = chain.find((s) => s.service === "sprintconnect-registry" && s.kind === 2)!;
      expect(registryServer).toBeDefined();
      const fetch = byId().get(registryServer.parentSpanId!)!;
      expect(fetch).toMatchObject({ service: "sprintconnect-gateway", kind: 3 }); // CLIENT

      // The chain crosses exactly the three processes, in order: gateway, registry, worker.
      const services = [...chain].reverse().map((s) => s.service);
      expect([...new Set(services)]).toEqual([
        "sprintconnect-gateway",
        "sprintconnect-registry",
        "sprintconnect-worker",
      ]);

      // The MCP call's HTTP requests are its children, and the fixture server saw the trace.
      await waitFor(
        "an HTTP client span under the MCP call",
        async () => trace().some((s) => s.parentSpanId === mcpSpan.spanId && s.kind === 3),
        30_000,
      );

      // The outbox: the worker's relay publishes the registration's and the discovery's events
      // in the trace that emitted them.
      const published = await waitFor(
        "outbox publish spans in the trace",
        async () => {
          const names = trace()
            .filter((s) => s.name.startsWith("outbox publish "))
            .map((s) => s.name);
          return names.includes("outbox publish server.registered") &&
            names.includes("outbox publish discovery.completed")
            ? names
            : undefined;
        },
        30_000,
      );
      expect(published).toEqual(expect.arrayContaining(["outbox publish server.registered"]));

      // The webhook delivery queued for the discovery's event runs as a job in the same trace,
      // under the event's publish span, and its request carries the trace to the receiver.
      const delivery = await waitFor(
        "the webhook delivery job's span",
        async () =>
          trace().find((s) => s.name === "job webhook-delivery" && s.attributes["job.outcome"] === "succeeded"),
        30_000,
      );
      expect(byId().get(delivery.parentSpanId!)?.name).toBe("outbox publish discovery.completed");
      expect(traceparents.map((h) => h.split("-")[1])).toContain(mcpSpan.traceId);
      // What receivers get is the event as before: the stored trace context is not part of it.
      expect(bodies.length).toBeGreaterThan(0);
      for (const body of bodies) expect(JSON.parse(body).data).not.toHaveProperty("_trace");

      // Outbound spans name the MCP server's URL without its query.
      const outbound = trace().filter(
        (s) => s.kind === 3 && String(s.attributes["url.full"] ?? "").startsWith(fixture.url),
      );
      expect(outbound.length).toBeGreaterThan(0);
      expect(JSON.stringify(receiver.spans)).not.toContain("tracing-secret-123");

      // Log lines written while a span was active carry its trace and span ids.
      const traced = stack.logs.worker!.map((line) => JSON.parse(line)).filter((l) => l.trace_id === mcpSpan.traceId);
      expect(traced.map((l) => l.msg)).toContain("discovery succeeded");
      expect(trace().map((s) => s.spanId)).toContain(traced.find((l) => l.msg === "discovery succeeded").span_id);
    } finally {
      await stack.stop();
      await fixture.close();
      await receiver.close();
      await new Promise((done) => {
        hooks.close(done);
        hooks.closeAllConnections();
      });
    }
  });

  it("loads no OpenTelemetry SDK, exporter or instrumentation in any process when no endpoint is set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sc-loaded-"));
    const fixture = await startFixture("rich", { tools: 1 });
    const stack = await startProcessStack({ DATABASE_URL, LOADED_MODULES_DIR: dir }, [
      "--require",
      resolve(__dirname, "fixtures/tracing/loaded-modules.js"),
    ]);
    try {
      // A request that crosses every part tracing would instrument: gateway, subgraph, job, MCP.
      await registerAndDiscover(stack, await createOrg(), fixture);
    } finally {
      await stack.stop();
      await fixture.close();
    }
    const reports = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
    rmSync(dir, { recursive: true, force: true });
    expect(reports.map((r) => relative(resolve(__dirname, ".."), r.entry)).sort()).toEqual([
      "gateway/dist/main.js",
      "subgraphs/admin/dist/main.js",
      "subgraphs/chat/dist/main.js",
      "subgraphs/metrics/dist/main.js",
      "subgraphs/registry/dist/main.js",
      "worker/dist/main.js",
      "worker/dist/scheduler-main.js",
    ]);
    const tracingModule =
      /@opentelemetry\/(sdk-node|sdk-trace-[a-z]+|context-async-hooks|exporter-trace-[a-z-]+|instrumentation[a-z-]*)\/|\/(require-in-the-middle|import-in-the-middle)\/|packages\/core\/dist\/tracing\/sdk\.js$/;
    for (const report of reports) {
      expect({ entry: report.entry, loaded: report.modules.filter((m: string) => tracingModule.test(m)) }).toEqual({
        entry: report.entry,
        loaded: [],
      });
      // The instrumentation entry itself ran (first), and stopped at the check.
      expect(report.modules.some((m: string) => m.endsWith("packages/core/dist/tracing/instrumentation.js"))).toBe(
        true,
      );
    }
  });
});
// --- end traces ---
