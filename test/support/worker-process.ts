import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "./env";
import { type Stack, TEST_WEBHOOK_ENV } from "./stack";

const ROOT = resolve(__dirname, "../..");

/** Builds the worker (and what it depends on) if its build is missing or stale: turbo caches it. */
export function buildWorker(): void {
  execFileSync("npx", ["turbo", "run", "build", "--filter=@sprintconnect/worker...", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
}

/**
 * Real worker processes (the built one, as `npm start` runs it) on a stack's queues, for tests
 * that kill one mid-job. `killAll()` ends those still running.
 */
export class WorkerProcesses {
  private readonly children: ChildProcess[] = [];

  constructor(private readonly stack: Stack) {}

  spawn(env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [join(ROOT, "worker/dist/main.js")], {
      env: {
        ...process.env,
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        JOB_QUEUE_PREFIX: this.stack.workerEnv.JOB_QUEUE_PREFIX,
        ALLOWED_EGRESS_HOSTS: "*,127.0.0.1",
        WORKER_STALL_INTERVAL_MS: "1000",
        OUTPUTS_DIR: "outputs/test",
        LOG_LEVEL: "warn",
        // Any free port: the default 9090 may be taken by a running `npm start`.
        PROMETHEUS_METRICS_PORT: "0",
        ...TEST_WEBHOOK_ENV,
        ...env,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    this.children.push(child);
    return child;
  }

  killAll(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill("SIGKILL");
  }
}
