// Closed-loop HTTP load, in a child process so the client never shares the event loop of the
// stack it measures. The parent sends one spec over IPC and gets one result back:
// `concurrency` loops each send one request at a time over keep-alive connections, first for
// `warmupMs` (not recorded), then until `durationMs` has passed or `maxRequests` were sent.
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

async function run(spec) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const url = new URL(spec.url);
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let firstError;
  let sent = 0;
  let phase = "warmup";
  let deadline = performance.now() + spec.warmupMs;

  const loop = async () => {
    for (;;) {
      if (performance.now() >= deadline) return;
      if (phase === "measure" && sent >= spec.maxRequests) return;
      if (phase === "measure") sent++;
      const measuring = phase === "measure";
      const [ok, ms, status, detail] = await send(agent, spec, url);
      if (!measuring) continue;
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
  const started = performance.now();
  deadline = started + spec.durationMs;
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { latencies, errors, statuses, firstError, elapsedMs, requests: latencies.length + errors };
}

process.once("message", (spec) => {
  run(spec).then(
    (result) => process.send(result, () => process.disconnect()),
    (err) => process.send({ failure: String(err?.stack ?? err) }, () => process.disconnect()),
  );
});

// The parent went away (a failed or interrupted bench): stop loading the machine.
process.on("disconnect", () => process.exit(0));
