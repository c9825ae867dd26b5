import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { serveOperations } from "./operations-server";
import { runProcess } from "./process";
import { startWorker } from "./worker";

void runProcess("worker", async (deps) => {
  const worker = await startWorker(deps);
  const server = await serveOperations({
    port: deps.env.PROMETHEUS_METRICS_PORT,
    host: deps.env.HOST,
    env: deps.env,
    metrics: worker.metrics.registry,
  });
  deps.logger.info({ port: deps.env.PROMETHEUS_METRICS_PORT }, "worker metrics at /metrics, health at /health");
  return {
    async stop() {
      server.close();
      await worker.stop();
    },
  };
});
