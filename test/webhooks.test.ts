import type { ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { PublishedEvent } from "@sprintconnect/core";
import { createDeliveries } from "@sprintconnect/worker";
import { Webhook as Verifier, WebhookVerificationError } from "standardwebhooks";
import { graphql, request } from "./support/http";
import { freshDatabase } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { buildWorker, WorkerProcesses } from "./support/worker-process";

/** What a receiver does with one request: answer with a status, or never answer. */
type Behaviour = number | "hang";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A webhook receiver on loopback. Each path answers with its queued behaviours in order, then
 * with 200; it records every request it got (also those it never answered).
 */
class Receiver {
  readonly received: Received[] = [];
  private readonly plans = new Map<string, Behaviour[]>();
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const path = req.url ?? "/";
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")]),
        );
        this.received.push({ path, headers, body: Buffer.concat(chunks).toString("utf8") });
        const next = this.plans.get(path)?.shift() ?? 200;
        if (next === "hang") {
          this.hanging.add(res);
          return;
        }
        res.writeHead(next, { "content-type": "text/plain" }).end(next < 300 ? "ok" : "not now");
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next requests to `path` get these behaviours, in order. */
  plan(path: string, ...behaviours: Behaviour[]): void {
    this.plans.set(path, behaviours);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let database: { url: string; drop(): Promise<void> };
let stack: Stack;
let workers: WorkerProcesses;
let worker: ChildProcess;
const receiver = new Receiver();
let paths = 0;
const freshPath = () => `/hooks/${paths++}`;

beforeAll(async () => {
  buildWorker();
  // Its own database: no other test file's relay or worker takes these events or deliveries.
  database = await freshDatabase("webhooks");
  stack = await startStack({ DATABASE_URL: database.url });
  workers = new WorkerProcesses(stack);
  worker = workers.spawn({ DATABASE_URL: database.url });
  await receiver.start();
}, 180_000);

afterAll(async () => {
  workers?.killAll();
  await stack?.close();
  await receiver.close();
  await database?.drop();
});

interface CreatedWebhook {
  secret: string;
  webhook: { id: string; url: string; eventTypes: string[]; enabled: boolean };
}

async function createWebhook(org: TestOrg, body: Record<string, unknown>): Promise<CreatedWebhook> {
  const res = await request<CreatedWebhook>(stack.url, "POST", "/v1/webhooks", { auth: org.ownerKey, body });
  expect(res.status).toBe(201);
  return res.body;
}

async function sendTest(org: TestOrg, webhookId: string): Promise<string> {
  const res = await request(stack.url, "POST", `/v1/webhooks/${webhookId}/test`, { auth: org.ownerKey });
  expect(res.status).toBe(202);
  return res.body.eventId as string;
}

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attemptCount: number;
  payload: Record<string, any>;
  attempts: Array<{ attempt: number; outcome: string; statusCode: number | null; error: string | null }>;
}

async function deliveries(org: TestOrg, webhookId: string, query = ""): Promise<Delivery[]> {
  const res = await request(stack.url, "GET", `/v1/webhooks/${webhookId}/deliveries${query}`, {
    auth: org.ownerKey,
  });
  expect(res.status).toBe(200);
  return res.body.items as Delivery[];
}

/** The delivery of `eventId`, once `done` says it is in the state awaited. */
function deliveryOf(
  org: TestOrg,
  webhookId: string,
  eventId: string,
  done: (d: Delivery) => boolean,
  timeoutMs = 20_000,
): Promise<Delivery> {
  return waitFor(
    `the delivery of event ${eventId}`,
    async () => (await deliveries(org, webhookId)).find((d) => d.eventId === eventId && done(d)),
    timeoutMs,
    100,
  );
}

const verify = (secret: string, r: Received) => new Verifier(secret).verify(r.body, r.headers) as Record<string, any>;

describe("delivery", () => {
  it("delivers a real registry change, signed so that the standardwebhooks verifier accepts it", async () => {
    const org = await createTestOrg(stack, "Hooks");
    const path = freshPath();
    const { secret, webhook } = await createWebhook(org, {
      url: `${receiver.url}${path}`,
      eventTypes: ["server.registered"],
      description: "registry feed",
    });
    expect(secret).toMatch(/^whsec_/);
    expect(webhook).toMatchObject({ enabled: true, eventTypes: ["server.registered"] });

    const server = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "announced", baseUrl: "http://127.0.0.1:9/mcp" },
    });
    expect(server.status).toBe(201);

    const [got] = await waitFor(
      "the delivery to arrive",
      async () => receiver.at(path).length > 0 && receiver.at(path),
    );
    const message = verify(secret, got!);
    expect(message).toMatchObject({
      type: "server.registered",
      organizationId: org.organizationId,
      data: { serverId: server.body.id, name: "announced" },
    });
    expect(got!.headers["content-type"]).toBe("application/json");

    // The receiver answers before the worker records the outcome: wait for the record.
    const [delivery] = await waitFor("the delivery to be recorded as succeeded", async () => {
      const rows = await deliveries(org, webhook.id);
      return rows[0]?.status === "succeeded" && rows;
    });
    expect(delivery).toMatchObject({ eventType: "server.registered", status: "succeeded", attemptCount: 1 });
    expect(got!.headers["webhook-id"]).toBe(delivery!.id);
    expect(message.id).toBe(delivery!.eventId);
    expect(delivery!.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "succeeded", statusCode: 200 }),
    ]);
  });

  it("retries after a 500 and after a timeout, then succeeds, with the same webhook-id and every attempt logged", async () => {
    const org = await createTestOrg(stack, "Retry");
    const path = freshPath();
    receiver.plan(path, 500, "hang", 200);
    const { secret, webhook } = await createWebhook(org, {
      url: `${receiver.url}${path}`,
      eventTypes: ["server.updated"],
    });
    const eventId = await sendTest(org, webhook.id);

    const delivery = await deliveryOf(org, webhook.id, eventId, (d) => d.status === "succeeded");
    expect(delivery.eventType).toBe("webhook.test");
    expect(delivery.attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([
      [1, "failed", 500],
      [2, "failed", null],
      [3, "succeeded", 200],
    ]);
    expect(delivery.attempts[0]!.error).toMatch(/^http_status/);
    expect(delivery.attempts[1]!.error).toMatch(/^timeout/);

    const got = receiver.at(path);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([delivery.id]));
    // Each attempt is signed afresh (its own timestamp) and each verifies.
    for (const r of got) expect(verify(secret, r)).toMatchObject({ id: eventId, type: "webhook.test" });
    const webhookNow = await request(stack.url, "GET", `/v1/webhooks/${webhook.id}`, { auth: org.ownerKey });
    expect(webhookNow.body.consecutiveFailures).toBe(0);
  });

  it("disables a webhook after a run of failures across deliveries, with a webhook.disabled event, and resumes when enabled again", async () => {
    // WEBHOOK_MAX_ATTEMPTS is 3 and WEBHOOK_MAX_CONSECUTIVE_FAILURES 4 in tests: the first
    // delivery is given up after 3 failures, the first attempt of the second is the 4th in a row.
    const org = await createTestOrg(stack, "Disable");
    const failing = freshPath();
    const watcher = freshPath();
    receiver.plan(failing, 500, 503, 500, 502);
    const broken = await createWebhook(org, { url: `${receiver.url}${failing}`, eventTypes: ["server.updated"] });
    const watching = await createWebhook(org, { url: `${receiver.url}${watcher}`, eventTypes: ["webhook.disabled"] });
    const first = await sendTest(org, broken.webhook.id);
    const givenUp = await deliveryOf(org, broken.webhook.id, first, (d) => d.status === "failed");
    expect(givenUp.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([
      ["failed", 500],
      ["failed", 503],
      ["failed", 500],
    ]);
    expect((await deliveries(org, broken.webhook.id, "?status=failed")).map((d) => d.id)).toEqual([givenUp.id]);
    const second = await sendTest(org, broken.webhook.id);

    const [notice] = await waitFor(
      "the webhook.disabled delivery",
      async () => receiver.at(watcher).length > 0 && receiver.at(watcher),
    );
    expect(verify(watching.secret, notice!)).toMatchObject({
      type: "webhook.disabled",
      data: { webhookId: broken.webhook.id, consecutiveFailures: 4 },
    });
    const disabled = (await request(stack.url, "GET", `/v1/webhooks/${broken.webhook.id}`, { auth: org.ownerKey }))
      .body;
    expect(disabled).toMatchObject({ enabled: false, consecutiveFailures: 4 });
    expect(disabled.disabledAt).toEqual(expect.any(String));
    expect(disabled.disabledReason).toMatch(/4 failed attempts in a row/);
    // The second delivery waits (it has attempts left); none is made while the webhook is disabled.
    const waiting = (await deliveries(org, broken.webhook.id)).find((d) => d.eventId === second)!;
    expect(waiting).toMatchObject({ status: "pending", attemptCount: 1 });
    const audit = await stack.db.auditLog.findFirst({
      where: { targetId: broken.webhook.id, action: "webhook.disabled" },
    });
    expect(audit?.actorType).toBe("system");

    const test = await request(stack.url, "POST", `/v1/webhooks/${broken.webhook.id}/test`, { auth: org.ownerKey });
    expect(test.status).toBe(409);
    expect(test.body.error.code).toBe("CONFLICT");

    const enabled = await request(stack.url, "PATCH", `/v1/webhooks/${broken.webhook.id}`, {
      auth: org.ownerKey,
      body: { enabled: true },
    });
    expect(enabled.body).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledAt: null });
    const done = await deliveryOf(org, broken.webhook.id, second, (d) => d.status === "succeeded");
    expect(done.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([
      ["failed", 502],
      ["succeeded", 200],
    ]);
    expect(receiver.at(failing)).toHaveLength(5);
    // The given-up delivery stays given up until someone redelivers it.
    expect((await deliveries(org, broken.webhook.id)).find((d) => d.eventId === first)?.status).toBe("failed");
  });

  it("redelivers a given-up delivery by hand with the same webhook-id, and logs the new attempt", async () => {
    const org = await createTestOrg(stack, "Redeliver");
    const path = freshPath();
    const { secret, webhook } = await createWebhook(org, {
      url: `${receiver.url}${path}`,
      eventTypes: ["server.updated"],
    });
    receiver.plan(path, 500, 500, 500);
    const eventId = await sendTest(org, webhook.id);
    const failed = await deliveryOf(org, webhook.id, eventId, (d) => d.status === "failed");
    expect(failed.attemptCount).toBe(3);

    const redelivered = await request(
      stack.url,
      "POST",
      `/v1/webhooks/${webhook.id}/deliveries/${failed.id}/redeliver`,
      { auth: org.ownerKey },
    );
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: failed.id, status: "pending" });
    const again = await deliveryOf(org, webhook.id, eventId, (d) => d.status === "succeeded");
    expect(again.attempts.map((a) => a.outcome)).toEqual(["failed", "failed", "failed", "succeeded"]);
    const got = receiver.at(path);
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([failed.id]));
    expect(verify(secret, got[3]!)).toMatchObject({ id: eventId });
    expect(await deliveries(org, webhook.id, "?status=failed")).toEqual([]);
  });

  it("pages the delivery log", async () => {
    const org = await createTestOrg(stack, "Pages");
    const path = freshPath();
    const { webhook } = await createWebhook(org, { url: `${receiver.url}${path}`, eventTypes: ["server.updated"] });
    const ids = [await sendTest(org, webhook.id), await sendTest(org, webhook.id), await sendTest(org, webhook.id)];
    await waitFor("three deliveries", async () => (await deliveries(org, webhook.id)).length === 3);
    const first = await request(stack.url, "GET", `/v1/webhooks/${webhook.id}/deliveries?limit=2`, {
      auth: org.ownerKey,
    });
    expect(first.body.items).toHaveLength(2);
    const second = await request(
      stack.url,
      "GET",
      `/v1/webhooks/${webhook.id}/deliveries?limit=2&cursor=${first.body.nextCursor}`,
      { auth: org.ownerKey },
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const seen = [...first.body.items, ...second.body.items].map((d: Delivery) => d.eventId);
    expect(new Set(seen)).toEqual(new Set(ids));
  });
});

describe("fan-out", () => {
  it("creates one delivery per subscribed webhook, and none again when the relay publishes the same events again", async () => {
    const org = await createTestOrg(stack, "Fanout");
    const other = await createTestOrg(stack, "Elsewhere");
    // The events below are made up and fanned out directly (the worker then delivers them to the receiver).
    const make = async (owner: TestOrg, eventTypes: string[]) => {
      const { webhook } = await createWebhook(owner, { url: `${receiver.url}${freshPath()}`, eventTypes });
      return webhook.id;
    };
    const updates = await make(org, ["server.updated", "server.registered"]);
    const health = await make(org, ["server.health_changed"]);
    const foreign = await make(other, ["server.updated"]);
    const event = (type: string, organizationId: string, aggregateId: string | null = null): PublishedEvent =>
      ({
        id: crypto.randomUUID(),
        organizationId,
        type,
        aggregateId,
        payload: { n: 1 },
        createdAt: new Date().toISOString(),
      }) as PublishedEvent;
    const events = [
      event("server.updated", org.organizationId),
      event("server.health_changed", org.organizationId),
      event("webhook.test", org.organizationId, health),
      event("chat.session.created", org.organizationId),
    ];
    const first = await stack.db.$transaction((tx) => createDeliveries(tx, events));
    const again = await stack.db.$transaction((tx) => createDeliveries(tx, events));
    expect(first).toHaveLength(3);
    expect(again).toEqual([]);
    const rows = await stack.db.webhookDelivery.findMany({ where: { eventId: { in: events.map((e) => e.id) } } });
    const pairs = rows.map(
      (r) =>
        `${r.webhookId === updates ? "updates" : r.webhookId === health ? "health" : r.webhookId === foreign ? "foreign" : "?"} ${r.eventType}`,
    );
    expect(pairs.sort()).toEqual(["health server.health_changed", "health webhook.test", "updates server.updated"]);
    expect(JSON.parse(rows[0]!.body)).toMatchObject({ organizationId: org.organizationId, data: { n: 1 } });
  });
});

describe("secrets", () => {
  it("shows the secret once: never in reads, the audit log, events or the database in clear", async () => {
    const org = await createTestOrg(stack, "Secret");
    const { secret, webhook } = await createWebhook(org, {
      url: `${receiver.url}${freshPath()}?token=abc`,
      eventTypes: ["server.registered"],
    });
    const reads = [
      await request(stack.url, "GET", `/v1/webhooks/${webhook.id}`, { auth: org.ownerKey }),
      await request(stack.url, "GET", "/v1/webhooks", { auth: org.ownerKey }),
      await request(stack.url, "PATCH", `/v1/webhooks/${webhook.id}`, {
        auth: org.ownerKey,
        body: { description: "x" },
      }),
    ];
    for (const read of reads) {
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(secret.slice(6));
    }
    const audit = await stack.db.auditLog.findMany({ where: { targetId: webhook.id } });
    expect(audit.map((a) => a.action)).toEqual(["webhook.created", "webhook.updated"]);
    const events = await stack.db.event.findMany({ where: { aggregateId: webhook.id } });
    for (const text of [JSON.stringify(audit.map((a) => a.data)), JSON.stringify(events)]) {
      expect(text).not.toContain(secret.slice(6));
      expect(text).not.toContain("token=abc");
    }
    const stored = await stack.db.secretValue.findMany({ where: { ref: { contains: webhook.id } } });
    expect(stored).toHaveLength(1);
    expect(Buffer.from(stored[0]!.ciphertext).toString("latin1")).not.toContain(secret.slice(6));
  });

  it("rotates the secret: the new one verifies the next delivery, the old one no longer does", async () => {
    const org = await createTestOrg(stack, "Rotate");
    const path = freshPath();
    const created = await createWebhook(org, { url: `${receiver.url}${path}`, eventTypes: ["server.updated"] });
    const rotated = await request(stack.url, "POST", `/v1/webhooks/${created.webhook.id}/rotate-secret`, {
      auth: org.ownerKey,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    await sendTest(org, created.webhook.id);
    const [got] = await waitFor("the delivery", async () => receiver.at(path).length > 0 && receiver.at(path));
    expect(verify(rotated.body.secret, got!)).toMatchObject({ type: "webhook.test" });
    expect(() => verify(created.secret, got!)).toThrow(WebhookVerificationError);
    const audit = await stack.db.auditLog.count({
      where: { targetId: created.webhook.id, action: "webhook.secret_rotated" },
    });
    expect(audit).toBe(1);
  });
});

describe("egress", () => {
  it.each(["http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/hook"])(
    "refuses to create a webhook for %s with 422 EGRESS_DENIED",
    async (url) => {
      const org = await createTestOrg(stack, "Ssrf");
      const res = await request(stack.url, "POST", "/v1/webhooks", {
        auth: org.ownerKey,
        body: { url, eventTypes: ["server.registered"] },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("EGRESS_DENIED");
      expect(await stack.db.webhook.count({ where: { organizationId: org.organizationId } })).toBe(0);
    },
  );

  it("refuses loopback when ALLOWED_EGRESS_HOSTS does not name it", async () => {
    const strict = await startStack({ DATABASE_URL: database.url, ALLOWED_EGRESS_HOSTS: "*" });
    try {
      const org = await createTestOrg(strict, "Strict");
      const res = await request(strict.url, "POST", "/v1/webhooks", {
        auth: org.ownerKey,
        body: { url: `${receiver.url}/never`, eventTypes: ["server.registered"] },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("EGRESS_DENIED");
      const moved = await request(strict.url, "PATCH", "/v1/webhooks/00000000-0000-4000-8000-000000000000", {
        auth: org.ownerKey,
        body: { url: `${receiver.url}/never` },
      });
      expect(moved.body.error.code).toBe("EGRESS_DENIED");
    } finally {
      await strict.close();
    }
  });

  it("checks the URL again at delivery: a webhook whose address became private fails without a connection", async () => {
    const org = await createTestOrg(stack, "Rebind");
    const { webhook } = await createWebhook(org, {
      url: `${receiver.url}${freshPath()}`,
      eventTypes: ["server.updated"],
    });
    // As if its name now resolved to a private address: the row changes behind the API's back.
    await stack.db.webhook.update({ where: { id: webhook.id }, data: { url: "http://10.0.0.1:81/hook" } });
    const eventId = await sendTest(org, webhook.id);
    const delivery = await deliveryOf(org, webhook.id, eventId, (d) => d.attempts.some((a) => a.outcome === "failed"));
    expect(delivery.attempts[0]!.error).toMatch(/^egress_denied: .*10\.0\.0\.1/);
    expect(delivery.attempts[0]!.statusCode).toBeNull();
  });
});

describe("input and access", () => {
  it("answers bad input with coded errors and stores nothing", async () => {
    const org = await createTestOrg(stack, "Bad");
    const cases: Array<[Record<string, unknown>, number, string, string[]]> = [
      [{ url: "ftp://example.com/x", eventTypes: ["server.registered"] }, 422, "VALIDATION_FAILED", ["url"]],
      [{ url: "https://example.com/x", eventTypes: [] }, 422, "VALIDATION_FAILED", ["eventTypes"]],
      [{ url: "https://example.com/x", eventTypes: ["server.exploded"] }, 422, "VALIDATION_FAILED", ["eventTypes.0"]],
      [{ url: "https://example.com/x", eventTypes: ["webhook.test"] }, 422, "VALIDATION_FAILED", ["eventTypes.0"]],
      [
        { url: "https://example.com/x", eventTypes: ["server.registered"], description: "x".repeat(501) },
        422,
        "VALIDATION_FAILED",
        ["description"],
      ],
    ];
    for (const [body, status, code, fields] of cases) {
      const res = await request(stack.url, "POST", "/v1/webhooks", { auth: org.ownerKey, body });
      expect([res.status, res.body.error.code]).toEqual([status, code]);
      expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(fields);
    }
    const missing = await request(stack.url, "POST", "/v1/webhooks", {
      auth: org.ownerKey,
      body: { url: "https://example.com" },
    });
    expect([missing.status, missing.body.error.code]).toEqual([400, "BAD_REQUEST"]);
    const unknown = await request(stack.url, "GET", "/v1/webhooks/not-a-uuid", { auth: org.ownerKey });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "NOT_FOUND"]);
    const limit = await request(stack.url, "GET", "/v1/webhooks?limit=0", { auth: org.ownerKey });
    expect([limit.status, limit.body.error.code]).toEqual([400, "BAD_REQUEST"]);
    expect(await stack.db.webhook.count({ where: { organizationId: org.organizationId } })).toBe(0);

    const { webhook } = await createWebhook(org, { url: "https://example.com/x", eventTypes: ["server.registered"] });
    const badPatch = await request(stack.url, "PATCH", `/v1/webhooks/${webhook.id}`, {
      auth: org.ownerKey,
      body: { eventTypes: ["nope"] },
    });
    expect([badPatch.status, badPatch.body.error.code]).toEqual([422, "VALIDATION_FAILED"]);
    const badStatus = await request(stack.url, "GET", `/v1/webhooks/${webhook.id}/deliveries?status=lost`, {
      auth: org.ownerKey,
    });
    expect([badStatus.status, badStatus.body.error.code]).toEqual([400, "BAD_REQUEST"]);
    const noDelivery = await request(
      stack.url,
      "POST",
      `/v1/webhooks/${webhook.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`,
      { auth: org.ownerKey },
    );
    expect([noDelivery.status, noDelivery.body.error.code]).toEqual([404, "NOT_FOUND"]);
    const after = await stack.db.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
    expect(after.eventTypes).toEqual(["server.registered"]);
  });

  it("hides one organization's webhooks from another, and needs webhooks:manage", async () => {
    const owner = await createTestOrg(stack, "Mine");
    const other = await createTestOrg(stack, "Theirs");
    const { webhook } = await createWebhook(owner, {
      url: "https://example.com/mine",
      eventTypes: ["server.registered"],
    });
    const attempts = [
      request(stack.url, "GET", `/v1/webhooks/${webhook.id}`, { auth: other.ownerKey }),
      request(stack.url, "PATCH", `/v1/webhooks/${webhook.id}`, { auth: other.ownerKey, body: { enabled: false } }),
      request(stack.url, "DELETE", `/v1/webhooks/${webhook.id}`, { auth: other.ownerKey }),
      request(stack.url, "POST", `/v1/webhooks/${webhook.id}/rotate-secret`, { auth: other.ownerKey }),
      request(stack.url, "POST", `/v1/webhooks/${webhook.id}/test`, { auth: other.ownerKey }),
      request(stack.url, "GET", `/v1/webhooks/${webhook.id}/deliveries`, { auth: other.ownerKey }),
    ];
    for (const res of await Promise.all(attempts))
      expect([res.status, res.body.error.code]).toEqual([404, "NOT_FOUND"]);
    const list = await request(stack.url, "GET", "/v1/webhooks", { auth: other.ownerKey });
    expect(list.body.items).toEqual([]);
    expect(await stack.db.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).toMatchObject({ enabled: true });

    const developer = await owner.member("developer");
    const denied = await request(stack.url, "GET", "/v1/webhooks", { auth: developer.apiKey });
    expect([denied.status, denied.body.error.code]).toEqual([403, "FORBIDDEN"]);
    const admin = await owner.member("admin");
    const allowed = await graphql(stack.url, admin.apiKey, "{ webhooks { items { id } } }");
    expect(allowed.body.data?.webhooks.items).toEqual([{ id: webhook.id }]);

    const deleted = await request(stack.url, "DELETE", `/v1/webhooks/${webhook.id}`, { auth: owner.ownerKey });
    expect(deleted.status).toBe(204);
    expect(await stack.db.webhook.count({ where: { id: webhook.id } })).toBe(0);
    expect(await stack.db.secretValue.count({ where: { ref: { contains: webhook.id } } })).toBe(0);
  });
});

describe("a worker killed in the middle of a delivery", () => {
  it("loses no delivery and creates none twice: another worker delivers each event once more with the same webhook-id", async () => {
    const org = await createTestOrg(stack, "Crash");
    const path = freshPath();
    // The first request is never answered: the worker is killed while it waits.
    receiver.plan(path, "hang");
    const { secret, webhook } = await createWebhook(org, {
      url: `${receiver.url}${path}`,
      eventTypes: ["server.updated"],
    });
    const first = await sendTest(org, webhook.id);
    await waitFor("the first attempt to reach the receiver", async () => receiver.at(path).length > 0);
    worker.kill("SIGKILL");
    await new Promise((resolve) => (worker.exitCode === null ? worker.once("exit", resolve) : resolve(null)));
    // Events committed while no worker runs wait in the outbox.
    const more = [await sendTest(org, webhook.id), await sendTest(org, webhook.id)];
    worker = workers.spawn({ DATABASE_URL: database.url });

    const events = [first, ...more];
    await waitFor(
      "every event delivered",
      async () => (await deliveries(org, webhook.id)).filter((d) => d.status === "succeeded").length === 3,
      30_000,
      100,
    );
    const rows = await stack.db.webhookDelivery.findMany({ where: { webhookId: webhook.id } });
    expect(rows.map((r) => r.eventId).sort()).toEqual([...events].sort());
    const interrupted = (await deliveries(org, webhook.id)).find((d) => d.eventId === first)!;
    expect(interrupted.attempts.map((a) => a.outcome)).toEqual(["interrupted", "succeeded"]);

    const got = receiver.at(path);
    const ids = got.map((r) => r.headers["webhook-id"]);
    // The interrupted delivery arrived twice (at least once is the contract), with one id.
    expect(ids.filter((id) => id === interrupted.id)).toHaveLength(2);
    expect(new Set(ids).size).toBe(3);
    for (const r of got) verify(secret, r);
  }, 60_000);
});
