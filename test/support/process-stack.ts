// --- traces (issue 10) ---
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { stackPorts } from "../../bench/support/process-stack";
import { stackServices } from "../../packages/cli/src/processes";
import { cliEnvSchema, parseEnv } from "../../packages/core/src/config";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "./env";
import { TEST_WEBHOOK_ENV } from "./stack";
import { waitFor } from "./wait";

const ROOT = resolve(__dirname, "../..");

/**
 * The stack as `npm start` runs it, one real process per service (their built entry points, the
 * `start` command's service list and node flags), on the test database and Redis, on free ports,
 * for what only separate processes show (OpenTelemetry is set up once per process). Each
 * process's stdout is kept, line by line, as `logs[name]`.
 */
export interface ProcessStack {
  url: string;
  logs: Record<string, string[]>;
  stop(): Promise<void>;
}

export async function startProcessStack(
  overrides: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ProcessStack> {
  execFileSync("npx", ["turbo", "run", "build", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  const ports = await stackPorts();
  const env: Record<string, string> = {
    APP_ENV: "development",
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    HOST: "127.0.0.1",
    ...ports,
    JOB_QUEUE_PREFIX: `sc:test:${randomBytes(4).toString("hex")}`,
    ALLOWED_EGRESS_HOSTS: "*,127.0.0.1",
    // As startStack: every test connects from 127.0.0.1 and the limit counters in Redis are
    // shared, so other files' deliberate bad credentials must not block this stack's requests.
    RATE_LIMIT_REQUESTS_PER_MINUTE: "100000",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000",
    QUOTA_REQUESTS_PER_DAY: "1000000",
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "1000000",
    HEALTH_CHECK_INTERVAL_SECONDS: "1000000",
    DISCOVERY_INTERVAL_SECONDS: "1000000",
    PROMETHEUS_METRICS_PORT: "0",
    OUTPUTS_DIR: "outputs/test",
    ...TEST_WEBHOOK_ENV,
    ...overrides,
  };
  const services = stackServices(parseEnv(cliEnvSchema, env));
  const children: Array<{ name: string; child: ChildProcess }> = [];
  const logs: Record<string, string[]> = {};
  const start = (service: (typeof services.background)[number]) => {
    const child = spawn(process.execPath, [...nodeArgs, ...(service.nodeFlags ?? []), join(ROOT, service.file)], {
      cwd: ROOT,
      env: { ...process.env, ...env, ...service.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines: string[] = [];
    logs[service.name] = lines;
    createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
    children.push({ name: service.name, child });
  };
  const healthy = (port: number) =>
    waitFor(
      `port ${port}`,
      async () => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).ok,
      60_000,
      200,
    );
  const stop = async () => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
            child.once("exit", () => {
              clearTimeout(timer);
              done();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
  };
  try {
    for (const service of [...services.subgraphs, ...services.background]) start(service);
    await Promise.all(services.subgraphs.map((s) => healthy(s.port)));
    start(services.gateway);
    await healthy(services.gateway.port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${ports.GATEWAY_PORT}`, logs, stop };
}
// --- end traces ---
