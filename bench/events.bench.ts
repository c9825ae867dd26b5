import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createOrganization } from "@sprintconnect/admin-subgraph";
import {
  cliEnvSchema,
  createPrisma,
  createRedis,
  EVENTS_CHANNEL,
  emitEvents,
  type PrismaClient,
  parseEnv,
  redisChannel,
  resolveKeys,
} from "@sprintconnect/core";
import { ensureDatabase } from "../packages/core/src/db/migrate";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./support/env";
import { freePort, processCpuMs, stackPorts } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep } from "./support/stack";
import { epochMs, type Summary, summarize } from "./support/stats";

/**
 * Events through the stack as `npm start` runs it: `node packages/cli/dist/main.js start` (four
 * subgraphs, the worker with the outbox relay, the scheduler, the gateway: each its own
 * process), 1,000 graphql-ws subscribers to `capabilityChanges` in another child process, and
 * "discoveries": one transaction committing 26 capability events, as the discovery runner does.
 * Measured from the commit (when the committing transaction returned here) to each subscriber.
 *
 * EVENTS_BASELINE_ROOT=<a built checkout of another commit> runs the same bench against that
 * checkout's processes first (on the database BENCH_DATABASE_URL + "_base"), so the table has a
 * before and after measured in one run.
 *
 * EVENTS_SUBSCRIBER_PROCESSES=<n> spreads the connections over n subscriber processes.
 * CPU_PROF_DIR set: every process of the stack (through a preloaded profiler,
 * `support/cpu-profile.cjs`) and the subscriber process (`--cpu-prof`) write a CPU profile there
 * when they exit.
 */
const CONNECTIONS = 100;
const PER_CONNECTION = 10;
const SUBSCRIBERS = CONNECTIONS * PER_CONNECTION;
const CAPABILITIES = 26;
const ROUNDS = 10;
/** Between discoveries, after the previous one was delivered (or timed out). */
const PAUSE_MS = 1_000;
const ROUND_TIMEOUT_MS = 10_000;
const REPO_ROOT = resolve(__dirname, "..");
const PROFILE_DIR = process.env.CPU_PROF_DIR ? resolve(process.env.CPU_PROF_DIR) : undefined;
/**
 * Processes the subscribers are spread over (EVENTS_SUBSCRIBER_PROCESSES, default 1): parsing
 * 26,000 frames per discovery in real graphql-ws clients costs more CPU than the gateway's
 * fan-out, so with one process the load generator, not the gateway, can set the last arrival.
 */
const SUBSCRIBER_PROCESSES = Number(process.env.EVENTS_SUBSCRIBER_PROCESSES ?? 1);

const SUBSCRIPTION = `subscription($filter: CapabilityChangeFilter) {
  capabilityChanges(filter: $filter) { eventId serverId name kind changeType occurredAt }
}`;
/** Every filter matches every event published here; 4 filters are 4 distinct upstream keys. */
const FILTERS = [{}, { kind: "tool" }, { environment: "production" }, { tag: "bench" }];

interface Variant {
  name: string;
  root: string;
  databaseUrl: string;
}

interface Outcome {
  variant: string;
  live: number;
  expected: number;
  delivered: number;
  /** commit → first / last subscriber of each discovery. */
  first: Summary;
  last: Summary;
  /** commit → every delivery. */
  every: Summary;
  /** occurredAt (the event row's createdAt) → commit. */
  occurredToCommit: Summary;
  errors: number;
  firstError?: string;
  /** CPU ms per discovery over the rounds (pauses included): the gateway, the registry, the subscriber processes. */
  cpuPerDiscovery: Record<"gateway" | "registry" | "subscribers", number>;
  loadBefore: number[];
  loadAfter: number[];
}

/** `start` of `root` as a child process; resolves once the gateway answers. */
async function startStack(variant: Variant, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(variant.root, "packages/cli/dist/main.js"), "start"], {
    cwd: variant.root,
    env: {
      ...process.env,
      ...env,
      ...(PROFILE_DIR
        ? { CPU_PROF_DIR: PROFILE_DIR, NODE_OPTIONS: `--require ${join(__dirname, "support/cpu-profile.cjs")}` }
        : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the stack exited during start-up:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the stack did not come up:\n${output}`);
    try {
      const response = await fetch(`http://127.0.0.1:${env.GATEWAY_PORT}/health`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (response.ok) return child;
    } catch {
      // not yet
    }
    await sleep(500);
  }
}

/** The pid of `parent`'s child process running `script` (a path relative to the checkout). */
function childPid(parent: number, script: string): number {
  for (const line of execFileSync("ps", ["-eo", "pid=,ppid=,args="]).toString().split("\n")) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    if (Number(ppid) === parent && args.some((a) => a.endsWith(script))) return Number(pid);
  }
  throw new Error(`no child of ${parent} runs ${script}`);
}

async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  await once(child, "exit");
  clearTimeout(killer);
}

/** Sends a message to the subscriber process and waits for its answer of type `answer`. */
function ask<T>(child: ChildProcess, message: { type: string } & Record<string, unknown>, answer: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const onExit = (code: number | null) => reject(new Error(`subscriber process exited with ${code}`));
    const onMessage = (m: { type: string }) => {
      if (m.type !== answer) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolvePromise(m as T);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message);
  });
}

interface Status {
  live: number;
  received: number;
  errors: number;
  firstError?: string;
  closed: number;
}

interface Report {
  arrivals: Record<string, number[]>;
  occurred: Record<string, number>;
  errors: number;
  firstError?: string;
}

/** The subscriber processes, asked together; their answers summed or merged. */
class SubscriberPool {
  constructor(readonly children: ChildProcess[]) {}

  async status(): Promise<Status> {
    const all = await Promise.all(this.children.map((c) => ask<Status>(c, { type: "status" }, "status")));
    return {
      live: all.reduce((n, s) => n + s.live, 0),
      received: all.reduce((n, s) => n + s.received, 0),
      errors: all.reduce((n, s) => n + s.errors, 0),
      closed: all.reduce((n, s) => n + s.closed, 0),
      ...(all.find((s) => s.firstError) ? { firstError: all.find((s) => s.firstError)?.firstError } : {}),
    };
  }

  async report(): Promise<Report> {
    const all = await Promise.all(this.children.map((c) => ask<Report>(c, { type: "report" }, "report")));
    const merged: Report = { arrivals: {}, occurred: {}, errors: 0 };
    for (const r of all) {
      for (const [round, at] of Object.entries(r.arrivals))
        merged.arrivals[round] = [...(merged.arrivals[round] ?? []), ...at];
      for (const [round, at] of Object.entries(r.occurred)) {
        merged.occurred[round] = Math.min(merged.occurred[round] ?? Number.POSITIVE_INFINITY, at);
      }
      merged.errors += r.errors;
      if (!merged.firstError && r.firstError) merged.firstError = r.firstError;
    }
    return merged;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children
        .filter((c) => c.connected)
        .map((c) => {
          c.send({ type: "stop" });
          return once(c, "exit");
        }),
    );
  }
}

function probe(organizationId: string, serverId: string): string {
  const id = randomUUID();
  return JSON.stringify({
    id,
    organizationId,
    type: "capability.changed",
    aggregateId: serverId,
    payload: {
      serverId,
      serverName: "bench-events",
      environment: "production",
      tags: ["bench"],
      capabilityId: id,
      name: "probe",
      kind: "tool",
      changeType: "CHANGED",
      reviewRequired: false,
    },
    createdAt: new Date().toISOString(),
  });
}

/** One discovery's commit: 26 capability events in one transaction (the discovery runner's `emitEvents`). */
async function discover(db: PrismaClient, organizationId: string, serverId: string, round: number): Promise<number> {
  await db.$transaction((tx) =>
    emitEvents(
      tx,
      Array.from({ length: CAPABILITIES }, (_, i) => ({
        organizationId,
        type: "capability.changed" as const,
        aggregateId: serverId,
        payload: {
          serverId,
          serverName: "bench-events",
          environment: "production",
          tags: ["bench"],
          capabilityId: randomUUID(),
          name: `round:${round}:${i}`,
          kind: "tool",
          changeType: "CHANGED",
          definitionHash: "b".repeat(64),
          previousHash: "a".repeat(64),
          reviewRequired: true,
        },
      })),
    ),
  );
  return epochMs();
}

async function measure(variant: Variant): Promise<Outcome> {
  const ports = await stackPorts();
  const env: Record<string, string> = {
    APP_ENV: "development",
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: variant.databaseUrl,
    REDIS_URL: BENCH_REDIS_URL,
    DEV_SECRETS_DIR: resolve(REPO_ROOT, "outputs/bench/events-secrets"),
    OUTPUTS_DIR: resolve(REPO_ROOT, "outputs/bench/events-worker"),
    JOB_QUEUE_PREFIX: `sc:bench-events:${randomUUID().slice(0, 8)}`,
    ...ports,
    PROMETHEUS_METRICS_PORT: String(await freePort()),
    SCHEDULER_HEALTH_PORT: String(await freePort()),
    RATE_LIMIT_REQUESTS_PER_MINUTE: "100000000",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000000",
    QUOTA_REQUESTS_PER_DAY: "1000000000",
  };
  await ensureDatabase(variant.databaseUrl);
  const { apiKeyPepper } = resolveKeys(parseEnv(cliEnvSchema, env));
  progress(`${variant.name}: starting the stack (${variant.root})`);
  // `start` gives each process 60 s to answer; on a machine this loaded that can fail: retry.
  let stack: ChildProcess | undefined;
  for (let attempt = 1; !stack; attempt++) {
    try {
      stack = await startStack(variant, env);
    } catch (err) {
      if (attempt >= 3) throw err;
      progress(
        `${variant.name}: the stack did not start (${(err as Error).message.split("\n").slice(-2).join(" ")}); again`,
      );
      await sleep(5_000);
    }
  }
  const db = createPrisma({ DATABASE_URL: variant.databaseUrl, DATABASE_POOL_SIZE: 2, DATABASE_MAX_OVERFLOW: 0 });
  const redis = createRedis(BENCH_REDIS_URL, "bench-events");
  let pool: SubscriberPool | undefined;
  try {
    const org = await createOrganization(db, apiKeyPepper, {
      name: `Bench events ${randomUUID().slice(0, 8)}`,
      ownerEmail: `owner-${randomUUID()}@example.test`,
    });
    const serverId = randomUUID();
    pool = new SubscriberPool(
      Array.from({ length: SUBSCRIBER_PROCESSES }, () =>
        fork(join(__dirname, "support/subscribers.mjs"), [], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
          execArgv: PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [],
        }),
      ),
    );
    const subscribers = pool;
    await Promise.all(
      subscribers.children.map((child, i) =>
        ask(
          child,
          {
            type: "start",
            url: `ws://127.0.0.1:${ports.GATEWAY_PORT}/graphql`,
            auth: org.apiKey,
            // Each process its share of the connections; every filter in each.
            connections:
              Math.floor(CONNECTIONS / SUBSCRIBER_PROCESSES) + (i < CONNECTIONS % SUBSCRIBER_PROCESSES ? 1 : 0),
            perConnection: PER_CONNECTION,
            query: SUBSCRIPTION,
            filters: FILTERS,
          },
          "started",
        ),
      ),
    );
    // Pub/sub keeps nothing and graphql-ws acknowledges no subscription: probes until every
    // subscriber has seen one.
    const liveDeadline = Date.now() + 120_000;
    let status = await subscribers.status();
    while (status.live < SUBSCRIBERS && Date.now() < liveDeadline && status.closed === 0) {
      await redis.publish(redisChannel(redis, EVENTS_CHANNEL), probe(org.organizationId, serverId));
      await sleep(500);
      status = await subscribers.status();
    }
    progress(`${variant.name}: ${status.live}/${SUBSCRIBERS} subscriptions live`);
    await sleep(2_000); // the last probes drain

    const loadBefore = loadavg();
    const pids = {
      gateway: [childPid(stack.pid as number, "gateway/dist/main.js")],
      registry: [childPid(stack.pid as number, "subgraphs/registry/dist/main.js")],
      subscribers: subscribers.children.map((c) => c.pid as number),
    };
    const cpuMs = (of: number[]) => of.reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, of]) => [name, cpuMs(of)]));
    const commits: number[] = [];
    let expectedSoFar = 0;
    const received0 = status.received;
    for (let round = 0; round < ROUNDS; round++) {
      commits.push(await discover(db, org.organizationId, serverId, round));
      expectedSoFar += CAPABILITIES * status.live;
      const deadline = Date.now() + ROUND_TIMEOUT_MS;
      let now = await subscribers.status();
      while (now.received - received0 < expectedSoFar && Date.now() < deadline) {
        await sleep(50);
        now = await subscribers.status();
      }
      await sleep(PAUSE_MS);
    }
    const loadAfter = loadavg();
    const cpuPerDiscovery = Object.fromEntries(
      Object.entries(pids).map(([name, of]) => [name, Math.round((cpuMs(of) - (cpuBefore[name] as number)) / ROUNDS)]),
    ) as Outcome["cpuPerDiscovery"];
    const report = await subscribers.report();
    const firsts: number[] = [];
    const lasts: number[] = [];
    const every: number[] = [];
    const occurredToCommit: number[] = [];
    let delivered = 0;
    commits.forEach((commit, round) => {
      const arrived = report.arrivals[String(round)] ?? [];
      delivered += arrived.length;
      if (arrived.length === 0) return;
      firsts.push(Math.min(...arrived) - commit);
      lasts.push(Math.max(...arrived) - commit);
      for (const at of arrived) every.push(at - commit);
      const occurredAt = report.occurred[String(round)];
      if (occurredAt !== undefined) occurredToCommit.push(commit - occurredAt);
    });
    return {
      variant: variant.name,
      live: status.live,
      expected: ROUNDS * CAPABILITIES * SUBSCRIBERS,
      delivered,
      first: summarize(firsts),
      last: summarize(lasts),
      every: summarize(every),
      occurredToCommit: summarize(occurredToCommit),
      errors: report.errors,
      cpuPerDiscovery,
      ...(report.firstError ? { firstError: report.firstError } : {}),
      loadBefore: loadBefore.map((l) => Math.round(l * 10) / 10),
      loadAfter: loadAfter.map((l) => Math.round(l * 10) / 10),
    };
  } finally {
    await pool?.stop();
    await redis.quit();
    await db.$disconnect();
    await stopStack(stack);
  }
}

describe("events through the multi-process stack", () => {
  it(`prints commit → subscriber latency for ${SUBSCRIBERS} subscribers and discoveries of ${CAPABILITIES} capabilities`, async () => {
    const variants: Variant[] = [];
    const baseline = process.env.EVENTS_BASELINE_ROOT;
    if (baseline) variants.push({ name: "before", root: resolve(baseline), databaseUrl: `${BENCH_DATABASE_URL}_base` });
    variants.push({ name: "after", root: REPO_ROOT, databaseUrl: BENCH_DATABASE_URL });
    const outcomes: Outcome[] = [];
    for (const variant of variants) {
      const outcome = await measure(variant);
      outcomes.push(outcome);
      progress(
        `${variant.name}: commit → last subscriber p50 ${outcome.last.p50} ms, p99 ${outcome.last.p99} ms; ` +
          `delivered ${outcome.delivered}/${outcome.expected}`,
      );
    }

    const rows = outcomes.flatMap((o) => [
      [o.variant, "commit → first subscriber", o.first.count, o.first.p50, o.first.p99, o.first.max],
      [o.variant, "commit → last subscriber", o.last.count, o.last.p50, o.last.p99, o.last.max],
      [o.variant, "commit → every delivery", o.every.count, o.every.p50, o.every.p99, o.every.max],
      [
        o.variant,
        "occurredAt → commit",
        o.occurredToCommit.count,
        o.occurredToCommit.p50,
        o.occurredToCommit.p99,
        o.occurredToCommit.max,
      ],
    ]);
    const before = outcomes.find((o) => o.variant === "before");
    const after = outcomes.find((o) => o.variant === "after");
    const ratio =
      before && after
        ? `after/before: last subscriber p50 ${(after.last.p50 / before.last.p50).toFixed(2)}×, p99 ${(after.last.p99 / before.last.p99).toFixed(2)}×; ` +
          `first subscriber p50 ${(after.first.p50 / before.first.p50).toFixed(2)}×.\n`
        : "";
    printTable(
      `events, commit → graphql-ws subscriber through the gateway, multi-process stack (\`start\`): ${SUBSCRIBERS} subscribers ` +
        `(${CONNECTIONS} connections × ${PER_CONNECTION}, ${FILTERS.length} filters), ${ROUNDS} discoveries of ${CAPABILITIES} capabilities`,
      ["stack", "measure", "n", "p50 ms", "p99 ms", "max ms"],
      rows,
      outcomes
        .map(
          (o) =>
            `${o.variant}: live ${o.live}/${SUBSCRIBERS}; delivered ${o.delivered.toLocaleString("en-US")} / expected ${o.expected.toLocaleString("en-US")}; ` +
            `subscriber errors ${o.errors}${o.firstError ? ` (${o.firstError})` : ""}; ` +
            `CPU ms per discovery: gateway ${o.cpuPerDiscovery.gateway}, registry ${o.cpuPerDiscovery.registry}, ` +
            `subscribers ${o.cpuPerDiscovery.subscribers}; load average before ${o.loadBefore.join(", ")}, after ${o.loadAfter.join(", ")}`,
        )
        .join("\n") +
        `\n${ratio}Subscribers run in ${SUBSCRIBER_PROCESSES} process(es) of their own; clocks: performance.timeOrigin + now() in every process.\n${conditionsNote()}`,
    );
    await writeResults("events", { subscribers: SUBSCRIBERS, capabilities: CAPABILITIES, rounds: ROUNDS, outcomes });
    for (const outcome of outcomes) expect(outcome.errors).toBe(0);
  }, 1_800_000);
});
