import { Prisma } from "@prisma/client";
import {
  compilePolicies,
  type PolicyRule,
  type PolicySet,
  patternMatches,
  patternProblem,
  patternToLike,
} from "./policy";

let n = 0;
function rule(partial: Partial<PolicyRule> & Pick<PolicyRule, "effect">): PolicyRule {
  n += 1;
  return {
    id: `p${n}`,
    name: `policy ${n}`,
    actions: ["discover", "call_tool", "read"],
    subjectRoles: ["owner", "admin", "developer", "viewer"],
    subjectUserIds: [],
    subjectApiKeyIds: [],
    serverIds: [],
    serverTags: [],
    environments: [],
    capabilityPatterns: [],
    capabilityKinds: [],
    ...partial,
  };
}

const developer = { role: "developer", userId: "u1", apiKeyId: null };
const prod = { id: "s1", tags: ["finance"], environment: "production" };
const dev = { id: "s2", tags: [], environment: "development" };

describe("the policy evaluator", () => {
  it("allows everything with an open default and no policy, and restricts nothing in SQL", () => {
    const c = compilePolicies({ defaultAccess: "open", policies: [] }, developer, "discover");
    expect(c.server(prod)).toEqual({ allowed: true, policy: null, decidedBy: "default_open" });
    expect(c.restricts).toBe(false);
  });

  it("refuses everything with a closed default and no allow, saying the default decided", () => {
    const c = compilePolicies({ defaultAccess: "closed", policies: [] }, developer, "read");
    expect(c.server(prod)).toEqual({ allowed: false, policy: null, decidedBy: "default_closed" });
    expect(c.restricts).toBe(true);
  });

  it("lets a deny win over an allow that matches the same server", () => {
    const allow = rule({ effect: "allow", environments: ["production"] });
    const deny = rule({ effect: "deny", serverTags: ["finance"] });
    for (const defaultAccess of ["open", "closed"] as const) {
      const c = compilePolicies({ defaultAccess, policies: [allow, deny] }, developer, "discover");
      expect(c.server(prod)).toMatchObject({ allowed: false, policy: { id: deny.id, effect: "deny" } });
    }
  });

  it("allows under a closed default only what an allow matches", () => {
    const allow = rule({ effect: "allow", environments: ["development"] });
    const c = compilePolicies({ defaultAccess: "closed", policies: [allow] }, developer, "discover");
    expect(c.server(dev)).toMatchObject({ allowed: true, policy: { id: allow.id } });
    expect(c.server(prod).allowed).toBe(false);
  });

  it("applies a policy only to its subjects (role, user or API key) and its actions", () => {
    const deny = rule({ effect: "deny", subjectRoles: ["viewer"], subjectUserIds: ["u9"], subjectApiKeyIds: ["k1"] });
    const set: PolicySet = { defaultAccess: "open", policies: [deny] };
    expect(compilePolicies(set, developer, "read").server(prod).allowed).toBe(true);
    expect(compilePolicies(set, { role: "viewer", userId: "u1", apiKeyId: null }, "read").server(prod).allowed).toBe(
      false,
    );
    expect(compilePolicies(set, { role: "owner", userId: "u9", apiKeyId: null }, "read").server(prod).allowed).toBe(
      false,
    );
    expect(compilePolicies(set, { role: "owner", userId: "u1", apiKeyId: "k1" }, "read").server(prod).allowed).toBe(
      false,
    );
    const readOnly = rule({ effect: "deny", actions: ["read"] });
    const onlyRead: PolicySet = { defaultAccess: "open", policies: [readOnly] };
    expect(compilePolicies(onlyRead, developer, "discover").server(prod).allowed).toBe(true);
    expect(compilePolicies(onlyRead, developer, "read").server(prod).allowed).toBe(false);
  });

  it("denies only the capabilities a capability-scoped deny names, never their whole server", () => {
    const deny = rule({ effect: "deny", capabilityPatterns: ["delete_*"], capabilityKinds: ["tool"] });
    const c = compilePolicies({ defaultAccess: "open", policies: [deny] }, developer, "call_tool");
    expect(c.server(prod).allowed).toBe(true);
    expect(c.capability(prod, { name: "Delete_Item", kind: "tool" })).toMatchObject({ allowed: false });
    expect(c.capability(prod, { name: "delete_item", kind: "prompt" }).allowed).toBe(true);
    expect(c.capability(prod, { name: "echo", kind: "tool" }).allowed).toBe(true);
  });

  it("lets a capability-scoped allow show the server under a closed default, and only those capabilities", () => {
    const allow = rule({ effect: "allow", capabilityPatterns: ["search*"] });
    const c = compilePolicies({ defaultAccess: "closed", policies: [allow] }, developer, "discover");
    expect(c.server(dev).allowed).toBe(true);
    expect(c.capability(dev, { name: "search_docs", kind: "tool" }).allowed).toBe(true);
    expect(c.capability(dev, { name: "delete", kind: "tool" }).allowed).toBe(false);
  });

  it("requires every listed kind of resource condition to match (id, tag, environment)", () => {
    const deny = rule({ effect: "deny", serverTags: ["finance"], environments: ["development"] });
    const c = compilePolicies({ defaultAccess: "open", policies: [deny] }, developer, "read");
    expect(c.server(prod).allowed).toBe(true); // finance but production
    expect(c.server({ id: "s3", tags: ["finance"], environment: "development" }).allowed).toBe(false);
    const byId = rule({ effect: "deny", serverIds: ["s2"] });
    expect(compilePolicies({ defaultAccess: "open", policies: [byId] }, developer, "read").server(dev).allowed).toBe(
      false,
    );
  });

  it("compiles only the policies that apply to the caller into SQL", () => {
    const mine = rule({ effect: "deny", serverTags: ["finance"] });
    const others = Array.from({ length: 50 }, () =>
      rule({ effect: "deny", subjectRoles: ["viewer"], serverIds: ["x"] }),
    );
    const c = compilePolicies({ defaultAccess: "open", policies: [...others, mine] }, developer, "discover");
    expect(c.applicable.map((p) => p.id)).toEqual([mine.id]);
    const sql = c.serverSql({
      serverId: Prisma.sql`s.id`,
      tags: Prisma.sql`s.tags`,
      environment: Prisma.sql`s.environment`,
    });
    expect(sql.values).toEqual([["finance"]]);
  });
});

describe("capability name patterns", () => {
  it("match case-insensitively with * as any run of characters, everything else literal", () => {
    expect(patternMatches("delete_*", "DELETE_item")).toBe(true);
    expect(patternMatches("delete_*", "deleteXitem")).toBe(false);
    expect(patternMatches("*invoice*", "get_invoice_pdf")).toBe(true);
    expect(patternMatches("a.b", "aXb")).toBe(false);
    expect(patternMatches("*", "anything")).toBe(true);
  });

  it("become LIKE patterns with _ and % taken literally", () => {
    expect(patternToLike("Delete_*")).toBe("delete\\_%");
    expect(patternToLike("*a*")).toBe("%a%");
  });

  it("are refused when empty, too long, with ** or with characters tool names do not use", () => {
    expect(patternProblem("")).toMatch(/empty/);
    expect(patternProblem("a".repeat(201))).toMatch(/200/);
    expect(patternProblem("a**b")).toMatch(/\*\*/);
    expect(patternProblem("drop table%")).toMatch(/may hold only/);
    expect(patternProblem("search_*")).toBeNull();
  });
});
