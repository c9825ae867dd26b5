/** The discovery searches the search benches time (bench/search.bench.ts, bench/policy-search.bench.ts). */

export interface ServerFilter {
  capability?: string;
  tag?: string;
  environment?: string;
  health?: string;
  q?: string;
}
export interface CapabilityFilter {
  name?: string;
  kind?: string;
  serverId?: string;
  q?: string;
}
export type Query =
  | { label: string; route: "servers"; filter: ServerFilter }
  | { label: string; route: "capabilities"; filter: CapabilityFilter };

/** Representative agent searches: free text (common and rare), by capability, by policy, by kind, by name. */
export const QUERIES: Query[] = [
  { label: "servers q=forecast", route: "servers", filter: { q: "forecast" } },
  { label: "servers q=sepa (rare)", route: "servers", filter: { q: "sepa" } },
  { label: "servers q=nothing-matches", route: "servers", filter: { q: "zebra-quartz" } },
  { label: "servers capability=refund", route: "servers", filter: { capability: "refund" } },
  { label: "servers tag=pci env=production", route: "servers", filter: { tag: "pci", environment: "production" } },
  { label: "capabilities kind=prompt q=invoice", route: "capabilities", filter: { kind: "prompt", q: "invoice" } },
  { label: "capabilities kind=resource_template", route: "capabilities", filter: { kind: "resource_template" } },
  { label: "capabilities name=search_", route: "capabilities", filter: { name: "search_" } },
];
