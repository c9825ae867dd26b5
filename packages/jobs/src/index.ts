export * from "./define";
export * from "./discovery-requests";
export * from "./jobs";
export * from "./queues";
