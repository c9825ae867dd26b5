// Preloaded (`NODE_OPTIONS=--require …/cpu-profile.cjs`) into processes a bench does not spawn
// itself, when CPU_PROF_DIR is set: NODE_OPTIONS does not take `--cpu-prof`. Profiles the whole
// process and writes `<script>-<pid>.cpuprofile` into CPU_PROF_DIR when it exits normally
// (an in-thread inspector session answers synchronously, so this works in an "exit" handler).
const { Session } = require("node:inspector");
const { writeFileSync, mkdirSync } = require("node:fs");
const { join, relative } = require("node:path");

const dir = process.env.CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      const script = relative(process.cwd(), process.argv[1] ?? "node").replace(/[/\\.]+/g, "_");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${script}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
