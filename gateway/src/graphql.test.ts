import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as telemetry from "@apollo/gateway/dist/utilities/opentelemetry";
import { createKeyRing, createLogger, ErrorCode, InternalTokenSigner, type Logger } from "@sprintconnect/core";
import { GraphQLError } from "graphql";
import { exportJWK, generateKeyPair } from "jose";
import { createGraphQLServer, formatGatewayError } from "./graphql";

describe("the gateway's Apollo server", () => {
  it("never starts @apollo/gateway's usage reporting to Apollo (nor its cloud metadata probes)", async () => {
    delete process.env.APOLLO_TELEMETRY_DISABLED;
    const exporter = jest.spyOn(telemetry, "createDataCollectionExporter");
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const keys = await createKeyRing({ ...(await exportJWK(privateKey)), kid: "test" });
    const server = createGraphQLServer({
      supergraphSdl: readFileSync(join(__dirname, "../../schema/supergraph.graphql"), "utf8"),
      subgraphUrls: {},
      signer: new InternalTokenSigner(keys),
      logger: createLogger("test", "silent"),
      production: true,
      plugins: [],
    });
    await server.start();
    await server.stop();
    expect(exporter).not.toHaveBeenCalled();
  });
});

/** What the formatter logged, by level. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_fields: unknown, msg: string) => lines.push({ level, msg });
  const logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") } as unknown as Logger;
  return { logger, lines };
}

describe("formatGatewayError", () => {
  it("keeps a subgraph's own SERVICE_UNAVAILABLE with its details, logged as a warning (expected under load)", () => {
    const { logger, lines } = recordingLogger();
    const given = {
      message: "The database is too busy; retry later",
      path: ["sendChatMessage"],
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, details: { retryAfter: 1 } },
    };
    const formatted = formatGatewayError(logger)(given, new GraphQLError(given.message));
    expect(formatted).toEqual({
      message: "The database is too busy; retry later",
      path: ["sendChatMessage"],
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, details: { retryAfter: 1 } },
    });
    expect(lines).toEqual([{ level: "warn", msg: "operation failed" }]);
  });

  it("logs an unreachable subgraph and an unexpected failure as errors, and says nothing of either's internals", () => {
    const { logger, lines } = recordingLogger();
    const format = formatGatewayError(logger);
    const refused = format({ message: "fetch failed: connect ECONNREFUSED 127.0.0.1:4001" }, new Error("x"));
    expect(refused).toEqual({
      message: "A service is unavailable; retry later",
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
    });
    const broken = format({ message: "Cannot read properties of undefined (reading 'id')" }, new Error("x"));
    expect(broken).toEqual({ message: "Internal error", extensions: { code: ErrorCode.INTERNAL } });
    expect(lines.map((l) => l.level)).toEqual(["error", "error"]);
  });
});
