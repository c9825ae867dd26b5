import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as telemetry from "@apollo/gateway/dist/utilities/opentelemetry";
import { createKeyRing, createLogger, InternalTokenSigner } from "@sprintconnect/core";
import { exportJWK, generateKeyPair } from "jose";
import { createGraphQLServer } from "./graphql";

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
