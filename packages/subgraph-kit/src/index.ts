import "reflect-metadata";

export * from "./auth";
export * from "./context";
export * from "./events";
export * from "./loaders";
export * from "./run";
export * from "./scalars";
export * from "./schema";
export * from "./server";
export * from "./subscriptions";
export * from "./websocket";
