// Closed-loop HTTP load, in a child process so the client never shares the event loop of the
// stack it measures. The parent sends one spec over IPC and gets one result back:
// `concurrency` loops each send one request at a time over keep-alive connections, first for
// `warmupMs` (not recorded), then until `durationMs` has passed or `maxRequests` were sent.
// With `spec.pg` instead of `url`, each "request" is one named prepared statement on a `pg`
// pool of `concurrency` connections: the floor the HTTP paths are compared with.
import http from "node:http";

/** Sends one request; resolves with [ok, latency ms]. */
function send(agent, spec, url) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(url, { method: spec.method, headers: spec.headers, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => {
        // A GraphQL answer with `errors` is a failure even with 200.
        const ok = res.statusCode === spec.expectStatus && !body.startsWith('{"errors"');
        resolve([ok, performance.now() - started, res.statusCode, ok ? undefined : body.slice(0, 300)]);
      });
      res.on("error", () => resolve([false, performance.now() - started, 0, "response error"]));
    });
    req.on("error", (err) => resolve([false, performance.now() - started, 0, String(err)]));
    if (spec.body !== undefined) req.end(spec.body);
    else req.end();
  });
}

/** Runs the prepared statement once; resolves like `send` (ok when it returns `expectRows` rows). */
async function query(pool, spec) {
  const started = performance.now();
  try {
    const result = await pool.query({ name: spec.pg.name, text: spec.pg.text, values: spec.pg.values });
    const ok = result.rows.length === spec.pg.expectRows;
    return [
      ok,
      performance.now() - started,
      ok ? "rows" : "wrong row count",
      ok ? undefined : `${result.rows.length} rows`,
    ];
  } catch (err) {
    return [false, performance.now() - started, "error", String(err)];
  }
}

async function run(spec) {
  let once;
  let close;
  if (spec.pg) {
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: spec.pg.connectionString, max: spec.concurrency });
    once = () => query(pool, spec);
    close = () => pool.end();
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
    const url = new URL(spec.url);
    once = () => send(agent, spec, url);
    close = () => agent.destroy();
  }
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let firstError;
  let sent = 0;
  let phase = "warmup";
  let deadline = performance.now() + spec.warmupMs;
  // A busy machine serves few requests in the warm-up time: keep warming until the code has run
  // often enough to be optimized (`warmupRequests`), for at most `maxWarmupMs`.
  let warmed = 0;
  const warmupEnds = performance.now() + (spec.maxWarmupMs ?? spec.warmupMs);

  const loop = async () => {
    for (;;) {
      const now = performance.now();
      if (now >= deadline && (phase === "measure" || warmed >= (spec.warmupRequests ?? 0) || now >= warmupEnds)) return;
      if (phase === "measure" && sent >= spec.maxRequests) return;
      if (phase === "measure") sent++;
      const measuring = phase === "measure";
      const [ok, ms, status, detail] = await once();
      if (!measuring) {
        warmed++;
        continue;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (ok) latencies.push(ms);
      else {
        errors++;
        firstError ??= `${status}: ${detail}`;
      }
    }
  };

  if (spec.warmupMs > 0) await Promise.all(Array.from({ length: spec.concurrency }, loop));
  phase = "measure";
  // The parent reads the servers' CPU now: the measured phase starts.
  process.send({ measuring: true });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  deadline = started + spec.durationMs;
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const elapsedMs = performance.now() - started;
  // This process's own CPU in the measured phase: what the client cost, per request.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // A pool stays open until the parent has read the server's CPU: its connections end with this process.
  if (!spec.pg) await close();
  return { latencies, errors, statuses, firstError, elapsedMs, cpuMs, requests: latencies.length + errors };
}

process.once("message", (spec) => {
  run(spec).then(
    (result) => process.send(result),
    (err) => process.send({ failure: String(err?.stack ?? err) }),
  );
});

// The parent disconnects once it has the result (or went away: a failed or interrupted bench).
process.on("disconnect", () => process.exit(0));
