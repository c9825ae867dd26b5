import { runProcess } from "./process";
import { startWorker } from "./worker";

void runProcess("worker", async (deps) => {
  const worker = await startWorker(deps);
  const server = await worker.metrics.serve(deps.env.PROMETHEUS_METRICS_PORT, deps.env.HOST, deps.env);
  deps.logger.info({ port: deps.env.PROMETHEUS_METRICS_PORT }, "worker metrics at /metrics");
  return {
    async stop() {
      server.close();
      await worker.stop();
    },
  };
});
