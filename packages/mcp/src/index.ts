export * from "./client";
export * from "./discovery";
export * from "./egress";
export * from "./hash";
export * from "./health";
export * from "./remote-text";
export * from "./tool-call";
