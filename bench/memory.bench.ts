import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./support/env";
import { freePort, stackPorts } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep } from "./support/stack";

/**
 * Idle memory of the stack as `npm start` runs it: the start command (built), its seven
 * processes, after start-up and a settle time. Beside them, in the same run, a bare Node
 * process: the floor every process pays (the binary, V8, libuv) and nothing can cut.
 */
const ROOT = resolve(__dirname, "..");
const SETTLE_MS = 20_000;
const MB = 1024 * 1024;

interface Memory {
  /** Resident set, as `ps` shows it. */
  rssMb: number;
  /** Of it, anonymous pages (heap, code, wasm): the process's own. */
  anonMb: number;
  /** Of it, mapped files (mostly the node binary), shared between the processes. */
  fileMb: number;
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssMb: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? Number.NaN);
  return {
    rssMb: (kb("VmRSS") * 1024) / MB,
    anonMb: (kb("RssAnon") * 1024) / MB,
    fileMb: (kb("RssFile") * 1024) / MB,
    pssMb: (pss * 1024) / MB,
  };
}

function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // ppid is the 2nd field after "pid (comm) ".
        return Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ")[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

let stack: ChildProcess | undefined;

beforeAll(() => {
  execFileSync("npx", ["turbo", "run", "build", "--output-logs=errors-only"], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
});
afterAll(async () => {
  if (stack && stack.exitCode === null) {
    stack.kill("SIGTERM");
    await new Promise((exited) => stack?.once("exit", exited));
  }
});

describe("memory", () => {
  it("prints the idle RSS of every process `npm start` runs", async () => {
    const [ports, worker] = await Promise.all([stackPorts(), freePort()]);
    stack = spawn(process.execPath, [join(ROOT, "packages/cli/dist/main.js"), "start"], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: BENCH_DATABASE_URL,
        REDIS_URL: BENCH_REDIS_URL,
        JOB_QUEUE_PREFIX: `bench:memory:${Date.now()}`,
        ...ports,
        PROMETHEUS_METRICS_PORT: String(worker),
        OUTPUTS_DIR: "outputs/bench/worker",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const started = performance.now();
    await new Promise<void>((up, failed) => {
      createInterface({ input: stack?.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        if (line.includes("SprintConnect is running")) up();
      });
      stack?.once("exit", (code) => failed(new Error(`npm start exited with ${code}`)));
    });
    const startupMs = performance.now() - started;
    progress(`stack up in ${(startupMs / 1000).toFixed(1)} s; settling ${SETTLE_MS / 1000} s`);
    const bare = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    await sleep(SETTLE_MS);

    const cli = stack.pid as number;
    const rows = childrenOf(cli).map((pid) => {
      const script =
        readFileSync(`/proc/${pid}/cmdline`, "utf8")
          .split("\0")
          .find((a) => a.endsWith(".js")) ?? "?";
      return {
        process: script.replace(`${ROOT}/`, "").replace("/dist/", "/").replace(/\.js$/, ""),
        pid,
        ...memoryOf(pid),
      };
    });
    rows.sort((a, b) => a.process.localeCompare(b.process));
    const floor = memoryOf(bare.pid as number);
    bare.kill();
    const supervisor = memoryOf(cli);
    const sum = (key: keyof Memory) => rows.reduce((total, r) => total + r[key], 0);
    const total: Memory = { rssMb: sum("rssMb"), anonMb: sum("anonMb"), fileMb: sum("fileMb"), pssMb: sum("pssMb") };
    const line = (label: string, m: Memory) => [label, m.rssMb, m.anonMb, m.fileMb, m.pssMb, m.rssMb / floor.rssMb];
    printTable(
      `idle memory of the stack (npm start), ${SETTLE_MS / 1000} s after it answered`,
      ["process", "RSS MB", "anon MB", "file MB", "PSS MB", "RSS ÷ bare node"],
      [
        ...rows.map((r) => line(r.process, r)),
        line(`total, ${rows.length} processes`, total),
        line("start command (supervisor)", supervisor),
        line("total with the supervisor", {
          rssMb: total.rssMb + supervisor.rssMb,
          anonMb: total.anonMb + supervisor.anonMb,
          fileMb: total.fileMb + supervisor.fileMb,
          pssMb: total.pssMb + supervisor.pssMb,
        }),
        line("bare node -e (same run)", floor),
      ],
      "anon: the process's own pages (V8 heap, code, WebAssembly); file: mapped files, mostly the node binary that\n" +
        "all of them share (RSS counts it in each, PSS divides it).\n" +
        conditionsNote(),
    );
    const file = await writeResults("memory", {
      settleMs: SETTLE_MS,
      startupMs,
      processes: rows,
      total,
      supervisor,
      bareNode: floor,
    });
    progress(`written ${file}`);
    expect(rows.map((r) => r.process).sort()).toEqual(
      [
        "gateway/main",
        "subgraphs/admin/main",
        "subgraphs/chat/main",
        "subgraphs/metrics/main",
        "subgraphs/registry/main",
        "worker/main",
        "worker/scheduler-main",
      ].sort(),
    );
  });
});
