// Raw Bee-Queue consumer for bench/jobs.bench.ts: the baseline our worker is compared with.
// One queue, a no-op handler, the same Redis and the same queue settings as JobQueues (removed
// on success, no events), in a process of its own as the worker runs. It records each job's
// latency (creation → handler done) and sends the lot when the parent asks.
import BeeQueue from "bee-queue";

const { REDIS_URL, PREFIX, QUEUE, CONCURRENCY } = process.env;
const queue = new BeeQueue(QUEUE, {
  prefix: PREFIX,
  redis: { url: REDIS_URL },
  isWorker: true,
  getEvents: false,
  sendEvents: false,
  storeJobs: false,
  removeOnSuccess: true,
  removeOnFailure: true,
});
const latencies = [];
queue.process(Number(CONCURRENCY), async (job) => {
  latencies.push(Date.now() - job.options.timestamp);
});
await queue.ready();
process.send({ ready: true });
process.on("message", async (message) => {
  if (message === "report") process.send({ latencies: latencies.splice(0) });
  if (message === "close") {
    await queue.close();
    process.exit(0);
  }
});
