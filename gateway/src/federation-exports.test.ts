import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { operationFromDocument, Supergraph } from "@apollo/federation-internals";
import { computeResponse } from "@apollo/gateway/dist/resultShaping";
import { type DocumentNode, Kind, parse } from "graphql";
import { memoizeUnvalidatedOperations } from "./federation-exports";
import { ROUTES } from "./rest/routes";

const GATEWAY = join(__dirname, "..");
const apiSchema = Supergraph.build(readFileSync(join(GATEWAY, "../schema/supergraph.graphql"), "utf8")).apiSchema();
const listRoute = ROUTES.find((r) => r.operationId === "listMcpServers");

/** The document `executeQueryPlan` builds for every request: the operation, then its fragments. */
function executionDocument(document: DocumentNode): DocumentNode {
  const operation = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return { kind: Kind.DOCUMENT, definitions: [...operation, ...fragments] };
}

describe("the gateway's calls into @apollo/federation-internals", () => {
  it("builds an unvalidated operation once per schema, definition nodes and operation name", () => {
    const build = jest.fn(operationFromDocument);
    const memoized = memoizeUnvalidatedOperations(build as never);
    const document = parse(listRoute?.document as string);
    const first = memoized(apiSchema, executionDocument(document), { validate: false });
    // A new document object each request, the same nodes (Apollo's document cache): built once.
    expect(memoized(apiSchema, executionDocument(document), { validate: false })).toBe(first);
    expect(build).toHaveBeenCalledTimes(1);
    // The same text parsed again is other nodes: another build, equal in content.
    const reparsed = memoized(apiSchema, executionDocument(parse(listRoute?.document as string)), { validate: false });
    expect(reparsed).not.toBe(first);
    expect(String(reparsed)).toBe(String(first));
    // Another fragment node with the same operation node: another build.
    const [operation] = document.definitions;
    const otherFragment = parse("fragment McpServerFields on McpServer { id }").definitions[0];
    const narrowed = memoized(
      apiSchema,
      { kind: Kind.DOCUMENT, definitions: [operation as never, otherFragment as never] },
      { validate: false },
    );
    expect(String(narrowed)).toContain("fragment McpServerFields on McpServer {\n  id\n}");
    expect(build).toHaveBeenCalledTimes(3);
    // Validating calls (query planning) always build.
    memoized(apiSchema, document, {});
    memoized(apiSchema, document);
    expect(build).toHaveBeenCalledTimes(5);
  });

  it("shapes each request's result from the shared operation on its own", () => {
    const memoized = memoizeUnvalidatedOperations(operationFromDocument as never);
    const document = parse(`query One($id: ID!, $withTags: Boolean!) {
      mcpServer(id: $id) { id name tags @include(if: $withTags) health { status } }
    }`);
    const shape = (withTags: boolean, tags: unknown, status: string) =>
      computeResponse({
        operation: memoized(apiSchema, executionDocument(document), { validate: false }) as never,
        variables: { id: "s1", withTags },
        input: { mcpServer: { __typename: "McpServer", id: "s1", name: "a", tags, health: { status } } },
        introspectionHandling: () => null,
      });
    const withTags = shape(true, ["x"], "healthy");
    const without = shape(false, undefined, "degraded");
    const invalid = shape(true, [], "bogus");
    expect(withTags).toEqual({
      data: { mcpServer: { id: "s1", name: "a", tags: ["x"], health: { status: "healthy" } } },
      errors: [],
    });
    expect(without).toEqual({
      data: { mcpServer: { id: "s1", name: "a", health: { status: "degraded" } } },
      errors: [],
    });
    // A value the supergraph does not know is an error of that request alone (non-null: it bubbles up).
    expect(invalid.data).toBeNull();
    expect(invalid.errors.map((e) => e.message)).toEqual(["Invalid value found for field McpServerHealth.status."]);
    expect(shape(true, ["y"], "healthy").data).toEqual({
      mcpServer: { id: "s1", name: "a", tags: ["y"], health: { status: "healthy" } },
    });
  });

  it("is in place in the built gateway, whatever the gateway process loads first", () => {
    // The gateway process's order (main.ts): tracing, the core package, then the app.
    const script = `
      const federation = require("@apollo/federation-internals");
      require("./dist/instrumentation");
      require("@sprintconnect/core");
      require("./dist/app");
      const patched = require("@apollo/federation-internals");
      const getters = Object.keys(patched).filter((k) => Object.getOwnPropertyDescriptor(patched, k).get);
      const differing = Object.keys(federation).filter((k) => k !== "operationFromDocument" && patched[k] !== federation[k]);
      console.log(JSON.stringify({
        flag: require("./dist/federation-exports").federationExportsPatched,
        replaced: patched !== federation,
        keys: Object.keys(patched).length === Object.keys(federation).length,
        getters: getters.length,
        differing,
        memoized: patched.operationFromDocument !== federation.operationFromDocument,
      }));`;
    // The built gateway (and what it depends on), missing or stale: turbo caches it.
    execFileSync("npx", ["turbo", "run", "build", "--filter=@sprintconnect/gateway...", "--output-logs=errors-only"], {
      cwd: join(GATEWAY, ".."),
      stdio: "ignore",
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
    });
    const out = execFileSync(process.execPath, ["-e", script], { cwd: GATEWAY, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").pop() as string)).toEqual({
      flag: true,
      replaced: true,
      keys: true,
      getters: 0,
      differing: [],
      memoized: true,
    });
  }, 180_000);
});
