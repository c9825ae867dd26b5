import type { Principal } from "@sprintconnect/core";
import type { RoutedSubscription } from "./routing";
import { shareKey } from "./sharing";

const principal: Principal = {
  organizationId: "00000000-0000-4000-8000-000000000001",
  userId: "00000000-0000-4000-8000-000000000002",
  apiKeyId: null,
  role: "viewer",
  scopes: ["servers:read", "chat:read"] as Principal["scopes"],
  authMethod: "api_key",
};

function routed(field: string, variables: Record<string, unknown>, query = "subscription { x }"): RoutedSubscription {
  return { subgraph: "registry", field, variables, payload: { query, variables }, document: undefined as never };
}

describe("shareKey", () => {
  it("is the same for the same caller and operation, whatever the order of scopes and variables", () => {
    const a = shareKey(routed("capabilityChanges", { filter: { kind: "tool", tag: "x" } }), principal);
    const b = shareKey(routed("capabilityChanges", { filter: { tag: "x", kind: "tool" } }), {
      ...principal,
      scopes: ["chat:read", "servers:read"] as Principal["scopes"],
    });
    expect(a).not.toBeNull();
    expect(a).toBe(b);
  });

  it("differs by organization, role, user, API key, scopes, variables and document", () => {
    const base = shareKey(routed("capabilityChanges", { filter: {} }), principal);
    const others = [
      shareKey(routed("capabilityChanges", { filter: {} }), { ...principal, organizationId: "other" }),
      shareKey(routed("capabilityChanges", { filter: {} }), { ...principal, role: "owner" }),
      // Access policies may name users and API keys: two callers never share.
      shareKey(routed("capabilityChanges", { filter: {} }), {
        ...principal,
        userId: "00000000-0000-4000-8000-000000000003",
      }),
      shareKey(routed("capabilityChanges", { filter: {} }), {
        ...principal,
        apiKeyId: "00000000-0000-4000-8000-000000000004",
      }),
      shareKey(routed("capabilityChanges", { filter: {} }), {
        ...principal,
        scopes: ["servers:read"] as Principal["scopes"],
      }),
      shareKey(routed("capabilityChanges", { filter: { kind: "tool" } }), principal),
      shareKey(routed("capabilityChanges", { filter: {} }, "subscription { y }"), principal),
    ];
    for (const key of others) expect(key).not.toBe(base);
  });

  it("never shares a subscription that is not a pure live feed (chatEvents replays per subscriber)", () => {
    expect(shareKey(routed("chatEvents", { sessionId: "s" }), principal)).toBeNull();
  });
});
