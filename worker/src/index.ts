export { applyDiscovery, changeEvents } from "./discovery/capability-store";
export { nextHealthState } from "./health/health-state";
export { WorkerMetrics } from "./metrics";
export { OutboxRelay } from "./relay/outbox-relay";
export { LeaderLock } from "./scheduler/leader-lock";
export { applyRetention } from "./scheduler/retention";
export { Scheduler } from "./scheduler/scheduler";
export { type RunningWorker, startWorker, type WorkerDeps } from "./worker";
