import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { CliEnv } from "@sprintconnect/core";
import { REPO_ROOT } from "./config";
import { note } from "./output";

/** How long a process may take to answer on /health after it is spawned. */
const STARTUP_TIMEOUT_MS = 60_000;
/** How long children may take to exit after `stop` before they are killed. */
const STOP_TIMEOUT_MS = 30_000;

/** One process of the stack: a built entry point under the repository root. */
/**
 * V8 flags per process (docker-compose.yml's commands carry the same). Node grows the young
 * generation to 2 × 16 MB while a process loads its modules and keeps it: a 1 MB semi-space
 * cap saves 25–35 MB of idle RSS per process, and costs CPU wherever a process allocates a
 * lot (the worker: ~10–20 % more CPU per no-op job, bench/jobs.bench.ts). Only the scheduler,
 * which enqueues on a timer and is never busy, trades speed for size; the others keep V8's
 * defaults, their throughput is what they are for.
 */
export const NODE_FLAGS: Partial<Record<string, readonly string[]>> = {
  scheduler: ["--max-semi-space-size=1", "--optimize-for-size"],
};

export interface Service {
  name: string;
  file: string;
  /** Node/V8 flags before the script. */
  nodeFlags?: readonly string[];
  /** 0: not an HTTP process (nothing to wait for on /health). */
  port: number;
  env: Record<string, string>;
  /** Higher tiers are stopped first: the gateway drains while the subgraphs still answer. */
  tier: number;
}

/** The processes `start` runs, as it runs them: their built `dist` entry points, ports from `env`. */
export function stackServices(env: CliEnv): { subgraphs: Service[]; gateway: Service; background: Service[] } {
  return {
    subgraphs: [
      subgraph("registry", env.REGISTRY_SUBGRAPH_URL, 4001),
      subgraph("chat", env.CHAT_SUBGRAPH_URL, 4002),
      subgraph("metrics", env.METRICS_SUBGRAPH_URL, 4003),
      subgraph("admin", env.ADMIN_SUBGRAPH_URL, 4004),
    ],
    gateway: { name: "gateway", file: "gateway/dist/main.js", port: env.GATEWAY_PORT, env: {}, tier: 1 },
    // Background processes: no port; they take jobs and schedule them.
    background: [
      { name: "worker", file: "worker/dist/main.js", port: 0, env: {}, tier: 0 },
      {
        name: "scheduler",
        file: "worker/dist/scheduler-main.js",
        nodeFlags: NODE_FLAGS.scheduler,
        port: 0,
        env: {},
        tier: 0,
      },
    ],
  };
}

function subgraph(name: string, url: string, defaultPort: number): Service {
  const port = Number(new URL(url).port) || defaultPort;
  return { name, file: `subgraphs/${name}/dist/main.js`, port, env: { PORT: String(port) }, tier: 0 };
}

/** The services whose entry point has not been built. */
export function unbuilt(services: Service[]): Service[] {
  return services.filter((s) => !existsSync(join(REPO_ROOT, s.file)));
}

/** Where to reach a local process: the interface it listens on (loopback for "all"). */
export function healthUrl(env: Pick<CliEnv, "HOST">, port: number): string {
  const host = env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/health`;
}

function say(line: string): void {
  note(`[start] ${line}`);
}

/**
 * Runs child processes; when one dies unexpectedly, stops the rest. `env` is added to this
 * process's environment for every child (a service's own `env` on top); `nodeArgs` go to
 * every child's node (e.g. `--cpu-prof`, which NODE_OPTIONS does not take).
 */
export class Supervisor {
  private readonly children = new Map<string, { process: ChildProcess; tier: number }>();
  private exitCode = 0;
  private killTimer: NodeJS.Timeout | undefined;
  private resolveExited: (code: number) => void = () => undefined;
  stopping = false;
  /** Settles with the exit code once every child has exited after `stop`. */
  readonly exited = new Promise<number>((resolve) => {
    this.resolveExited = resolve;
  });

  constructor(
    private readonly env: Record<string, string> = {},
    private readonly nodeArgs: string[] = [],
  ) {}

  spawn(service: Service): void {
    const child = spawn(
      process.execPath,
      [...this.nodeArgs, ...(service.nodeFlags ?? []), join(REPO_ROOT, service.file)],
      {
        env: { ...process.env, ...this.env, ...service.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.children.set(service.name, { process: child, tier: service.tier });
    const prefix = `[${service.name}] `;
    createInterface({ input: child.stdout! }).on("line", (line) => process.stdout.write(`${prefix}${line}\n`));
    createInterface({ input: child.stderr! }).on("line", (line) => process.stderr.write(`${prefix}${line}\n`));
    const exited = (reason: string) => {
      this.children.delete(service.name);
      if (!this.stopping) {
        say(`${service.name} ${reason}; stopping the others`);
        this.stop(1);
      } else {
        this.stopNextTier();
      }
    };
    child.on("exit", (code, signal) => exited(`exited unexpectedly (${signal ?? `code ${code}`})`));
    // Without a pid the process never started, and no "exit" follows.
    child.on("error", (error) => {
      if (child.pid === undefined) exited(`could not start: ${error.message}`);
    });
  }

  /** The process id of a running service, by name. */
  pid(name: string): number | undefined {
    return this.children.get(name)?.process.pid;
  }

  /** Polls `url` until it answers 200; fails if the process exits or the timeout passes. */
  async waitHealthy(service: Service, url: string): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!this.stopping) {
      if (!this.children.has(service.name)) throw new Error(`${service.name} exited during start-up`);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) {
          say(`${service.name} is up on port ${service.port}`);
          return;
        }
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`${service.name} did not answer on ${url} within ${STARTUP_TIMEOUT_MS / 1000}s`);
      await sleep(250);
    }
    throw new Error("stopping");
  }

  /**
   * Sends SIGTERM (each child drains and exits) tier by tier, the gateway first, and kills
   * what is left after the timeout. SIGTERM even for Ctrl-C: the terminal has already sent
   * SIGINT to the whole process group, and a second SIGINT would kill a child before it drains.
   */
  stop(code: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = code;
    this.killTimer = setTimeout(() => {
      for (const name of this.children.keys()) say(`${name} did not stop in time; killing it`);
      this.kill();
    }, STOP_TIMEOUT_MS);
    this.killTimer.unref();
    this.stopNextTier();
  }

  /** Kills every child at once. */
  kill(): void {
    for (const child of this.children.values()) child.process.kill("SIGKILL");
  }

  /** Signals the highest tier still running (each child once), or settles when none is left. */
  private stopNextTier(): void {
    const running = [...this.children.values()];
    if (running.length === 0) {
      clearTimeout(this.killTimer);
      this.resolveExited(this.exitCode);
      return;
    }
    const top = Math.max(...running.map((c) => c.tier));
    for (const child of running) {
      if (child.tier === top && !child.process.killed) child.process.kill("SIGTERM");
    }
  }
}
