import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { healthUrl, type Service, Supervisor, stackServices } from "../../packages/cli/src/processes";
import { cliEnvSchema, parseEnv } from "../../packages/core/src/config";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./env";

const ROOT = resolve(__dirname, "../..");

/** The stack as `npm start` runs it: one process per service, from the built entry points. */
export interface ProcessStack {
  /** The gateway's base URL. */
  url: string;
  /** Each subgraph's `/graphql` URL, by name. */
  subgraphUrls: Record<string, string>;
  /** What every child got on top of this process's environment. */
  env: Record<string, string>;
  /** Process ids by service name (registry, chat, metrics, admin, gateway, worker, scheduler). */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

/** A port nothing listens on now (the OS's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Free ports for the gateway and the four subgraphs, as the environment `start` reads them. */
export async function stackPorts(): Promise<Record<string, string>> {
  const [gateway, registry, chat, metrics, admin] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const url = (port: number | undefined) => `http://127.0.0.1:${port}/graphql`;
  return {
    GATEWAY_PORT: String(gateway),
    REGISTRY_SUBGRAPH_URL: url(registry),
    CHAT_SUBGRAPH_URL: url(chat),
    METRICS_SUBGRAPH_URL: url(metrics),
    ADMIN_SUBGRAPH_URL: url(admin),
  };
}

/**
 * Builds what is stale (turbo caches the rest), then starts the four subgraphs, the worker and
 * the scheduler and, once the subgraphs answer, the gateway, with the `start` command's own
 * Supervisor, on the bench database and Redis database, on free ports. Rate limits and quotas
 * are raised out of reach (the limiter still runs on every request); the scheduler's periodic
 * health checks and discoveries are pushed out of the run so they add no load.
 * `CPU_PROF_DIR` set: every child writes a `--cpu-prof` profile there when it exits.
 */
export async function startProcessStack(overrides: Record<string, string> = {}): Promise<ProcessStack> {
  execFileSync("npx", ["turbo", "run", "build", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  const ports = await stackPorts();
  const profileDir = process.env.CPU_PROF_DIR;
  const env: Record<string, string> = {
    APP_ENV: "development",
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    HOST: "127.0.0.1",
    ...ports,
    JOB_QUEUE_PREFIX: `sc:bench:${randomBytes(4).toString("hex")}`,
    RATE_LIMIT_REQUESTS_PER_MINUTE: "100000000",
    RATE_LIMIT_BURST_SIZE: "100000000",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000000",
    QUOTA_REQUESTS_PER_DAY: "1000000000",
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "1000000",
    HEALTH_CHECK_INTERVAL_SECONDS: "1000000",
    DISCOVERY_INTERVAL_SECONDS: "1000000",
    PROMETHEUS_METRICS_PORT: "0",
    OUTPUTS_DIR: "outputs/bench/worker",
    ...overrides,
  };
  const { subgraphs, gateway, background } = stackServices(parseEnv(cliEnvSchema, env));
  const supervisor = new Supervisor(env, profileDir ? ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`] : []);
  const pids: Record<string, number> = {};
  const spawn = (service: Service) => {
    supervisor.spawn(service);
    pids[service.name] = supervisor.pid(service.name) as number;
  };
  try {
    for (const service of [...subgraphs, ...background]) spawn(service);
    await Promise.all(subgraphs.map((s) => supervisor.waitHealthy(s, healthUrl({ HOST: "127.0.0.1" }, s.port))));
    spawn(gateway);
    await supervisor.waitHealthy(gateway, healthUrl({ HOST: "127.0.0.1" }, gateway.port));
  } catch (error) {
    supervisor.stop(1);
    await supervisor.exited;
    throw error;
  }
  return {
    url: `http://127.0.0.1:${env.GATEWAY_PORT}`,
    subgraphUrls: Object.fromEntries(subgraphs.map((s) => [s.name, `http://127.0.0.1:${s.port}/graphql`])),
    env,
    pids,
    async stop() {
      supervisor.stop(0);
      await supervisor.exited;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU time (user + system) a process has used so far, in ms; NaN once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name (which may hold spaces): state is the first, utime the 12th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * The PostgreSQL server processes serving `database` (one per connection), found by the title
 * PostgreSQL gives them (`postgres: <cluster>: <user> <database> <client> <state>`).
 */
export function postgresBackends(database: string): number[] {
  const pids: number[] = [];
  for (const line of execFileSync("ps", ["-eo", "pid=,args="]).toString().split("\n")) {
    const match = /^\s*(\d+)\s+postgres: .*? \S+ (\S+) /.exec(line);
    if (match && match[2] === database) pids.push(Number(match[1]));
  }
  return pids;
}
