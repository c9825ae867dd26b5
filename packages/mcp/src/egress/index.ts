export type { EgressDenialReason } from "./egress-denied";
export * from "./egress-guard";
export * from "./egress-policy";
export type { AddressRange, ClassifiedAddress } from "./ip-address";
