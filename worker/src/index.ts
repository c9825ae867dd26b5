export { costOf, loadAgentConfig } from "./chat/agent-config";
export { McpConnectionPool } from "./chat/connection-pool";
export { historyMessages } from "./chat/history";
export { jsonObjectsIn, LocalChatModel, planReply } from "./chat/local-model";
export { createChatModel, defaultModel, usageOf } from "./chat/providers";
export { applyDiscovery, changeEvents } from "./discovery/capability-store";
export { nextHealthState } from "./health/health-state";
export { WorkerMetrics } from "./metrics";
export { serveOperations } from "./operations-server";
export { OUTBOX_NOTIFY_CHANNEL, OutboxRelay } from "./relay/outbox-relay";
export { LeaderLock } from "./scheduler/leader-lock";
export { applyRetention } from "./scheduler/retention";
export { Scheduler, USAGE_ANALYTICS_KEY } from "./scheduler/scheduler";
export { createDeliveries } from "./webhooks/webhook-fanout"; // webhooks (issue 10)
export { type RunningWorker, startWorker, type WorkerDeps } from "./worker";
