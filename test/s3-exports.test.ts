import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { Writable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  ConfigError,
  createOutputs,
  gatewayEnvSchema,
  parseEnv,
  S3Mirror,
  s3ConfigFrom,
  workerEnvSchema,
} from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import pino from "pino";
import { Registry } from "prom-client";
import S3rver from "s3rver";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startGateway, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

const BUCKET = "sc-exports";
const PREFIX = "sc-test";
// Distinctive values, so that a log line holding either is found.
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";
const OUTPUTS_ROOT = join(__dirname, "..", "outputs", "test");

/** Every line any process of the stack logs, at debug level, kept to search for secrets. */
const logLines: string[] = [];
const logger = pino(
  { level: "debug" },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

let s3: S3rver;
let s3Dir: string;
let s3Url: string;
let client: S3Client;
let stack: Stack;
let org: TestOrg;
let tools: FixtureHandle;
const closers: Array<() => Promise<unknown>> = [];

function s3Env(endpoint: string): Record<string, string> {
  return {
    S3_ENDPOINT: endpoint,
    S3_BUCKET: BUCKET,
    S3_ACCESS_KEY_ID: ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: "true",
    S3_PREFIX: `/${PREFIX}/`,
    S3_UPLOAD_MAX_ATTEMPTS: "3",
    S3_UPLOAD_RETRY_BASE_MS: "20",
  };
}

/** The object's bytes, or undefined while it does not exist. */
async function objectBytes(key: string): Promise<Buffer | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined;
    throw error;
  }
}

/** The key a local output file must have in the bucket: the prefix, then its path below OUTPUTS_DIR. */
function keyOf(file: string): string {
  return `${PREFIX}/${relative(OUTPUTS_ROOT, file).split(sep).join("/")}`;
}

function localFiles(kind: string, startsWith: string): string[] {
  return readdirSync(OUTPUTS_ROOT, { recursive: true, encoding: "utf8" })
    .filter((f) => !f.startsWith("latest") && f.includes(kind) && f.split("/").pop()?.startsWith(startsWith))
    .filter((f) => !f.endsWith(".tmp"))
    .map((f) => join(OUTPUTS_ROOT, f));
}

/** The value of a counter sample on a `/metrics` page, 0 when absent. */
async function sample(baseUrl: string, line: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(" ")[1]) : 0;
}

async function chatSessionWithATurn(): Promise<string> {
  const server = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: org.ownerKey,
    body: { name: `tools ${Date.now()}`, baseUrl: tools.url },
  });
  expect(server.status).toBe(201);
  await waitFor("the discovery", async () => {
    const s = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: server.body.id } });
    return s.discoveryStatus === "succeeded";
  });
  const session = await request(stack.url, "POST", "/v1/chat/sessions", {
    auth: org.ownerKey,
    body: { serverIds: [server.body.id] },
  });
  expect(session.status).toBe(201);
  const sent = await request(stack.url, "POST", `/v1/chat/sessions/${session.body.id}/messages`, {
    auth: org.ownerKey,
    body: { content: 'echo {"text":"to the bucket, \\"quoted\\""} please' },
  });
  expect(sent.status).toBeLessThan(300);
  await waitFor("the turn to finish", async () => {
    const turns = await stack.db.chatTurn.findMany({ where: { sessionId: session.body.id } });
    return turns.length > 0 && turns.every((t) => t.status === "completed");
  });
  return session.body.id;
}

function expectNoCredentialsLogged(): void {
  expect(logLines.length).toBeGreaterThan(0);
  const all = logLines.join("");
  expect(all).not.toContain(SECRET_ACCESS_KEY);
  expect(all).not.toContain(ACCESS_KEY_ID);
}

beforeAll(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), "s3rver-"));
  // Buckets by path only: the host name of a test endpoint (s3.loopback.test) is not a bucket.
  s3 = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: s3Dir, vhostBuckets: false });
  const { port } = await s3.run();
  s3Url = `http://127.0.0.1:${port}`;
  client = new S3Client({
    endpoint: s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  stack = await startStack(s3Env(s3Url), { worker: true, logger });
  org = await createTestOrg(stack, "S3 exports");
  tools = await startFixture("tools");
});

afterAll(async () => {
  for (const close of closers) await close();
  await stack?.close();
  await tools?.close();
  client?.destroy();
  await s3?.close();
  rmSync(s3Dir, { recursive: true, force: true });
});

describe("S3 exports", () => {
  it("uploads a chat export (JSON and CSV) and a discovery result with the local file's exact bytes", async () => {
    const sessionId = await chatSessionWithATurn();
    const json = await fetch(`${stack.url}/v1/chat/sessions/${sessionId}/export?format=json`, {
      headers: { authorization: `Bearer ${org.ownerKey}` },
    });
    expect(json.status).toBe(200);
    const jsonBytes = Buffer.from(await json.arrayBuffer());
    const csv = await fetch(`${stack.url}/v1/chat/sessions/${sessionId}/export?format=csv`, {
      headers: { authorization: `Bearer ${org.ownerKey}` },
    });
    expect(csv.status).toBe(200);
    const csvBytes = Buffer.from(await csv.arrayBuffer());

    const exports = localFiles("chat-exports", sessionId);
    expect(exports).toHaveLength(2);
    for (const file of exports) {
      const local = readFileSync(file);
      expect(local.equals(file.endsWith(".json") ? jsonBytes : csvBytes)).toBe(true);
      const uploaded = await waitFor(`the upload of ${keyOf(file)}`, () => objectBytes(keyOf(file)));
      expect(uploaded.equals(local)).toBe(true);
    }

    // The discovery run of the session's server wrote its result; the worker uploaded it too.
    await stack.worker!.outputs.settled();
    const server = await stack.db.mcpServer.findFirstOrThrow({ where: { organizationId: org.organizationId } });
    const [result] = localFiles("discovery-results", server.id);
    expect(result).toBeDefined();
    const uploaded = await objectBytes(keyOf(result!));
    expect(uploaded?.equals(readFileSync(result!))).toBe(true);
    expect(JSON.parse(uploaded!.toString("utf8"))).toMatchObject({ serverId: server.id });

    expect(await sample(stack.url, 'output_uploads_total{kind="chat-exports",outcome="succeeded"}')).toBe(2);
    expectNoCredentialsLogged();
  });

  it("still writes the local file and answers the export when S3 is down, and counts the upload given up", async () => {
    const sessionId = await chatSessionWithATurn();
    // A port nothing listens on: every connection is refused.
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((done) => closed.close(done));
    const down = await startGateway(stack, s3Env(downUrl), { logger });
    closers.push(() => down.app.close());

    const res = await fetch(`${down.url}/v1/chat/sessions/${sessionId}/export?format=json`, {
      headers: { authorization: `Bearer ${org.ownerKey}` },
    });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(JSON.parse(body.toString("utf8")).session.id).toBe(sessionId);
    const [file] = localFiles("chat-exports", sessionId);
    expect(readFileSync(file!).equals(body)).toBe(true);

    const failed = 'output_uploads_total{kind="chat-exports",outcome="failed"}';
    await waitFor("the upload to be given up", async () => (await sample(down.url, failed)) === 1);
    expect(await sample(down.url, 'output_uploads_total{kind="chat-exports",outcome="retried"}')).toBe(2);
    expect(logLines.some((l) => l.includes("S3 upload given up") && l.includes(keyOf(file!)))).toBe(true);
    // The local file is untouched by the failed upload; nothing reached the real bucket.
    expect(readFileSync(file!).equals(body)).toBe(true);
    expect(await objectBytes(keyOf(file!))).toBeUndefined();
    expectNoCredentialsLogged();
  });

  it("refuses to start when the egress policy does not admit the S3 endpoint", async () => {
    // Loopback is not admitted by `*`: the endpoint (s3rver on 127.0.0.1) is refused at boot.
    await expect(startGateway(stack, { ...s3Env(s3Url), ALLOWED_EGRESS_HOSTS: "*" }, { logger })).rejects.toThrow(
      /S3_ENDPOINT: Egress to 127\.0\.0\.1 refused/,
    );
    const config = s3ConfigFrom(parseEnv(gatewayEnvSchema, s3Env(s3Url)))!;
    const guard = new EgressGuard(parseEgressPolicy(["s3.example.test"]), {
      resolve: async () => ["10.1.2.3"],
    });
    await expect(
      S3Mirror.create({ ...config, endpoint: "http://s3.example.test:9000" }, { logger, egress: guard }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it("checks every connection the S3 client opens to a host name against the egress policy", async () => {
    // `s3.loopback.test` resolves to 127.0.0.1, which only an IP entry admits, not `*`.
    const resolve = async () => ["127.0.0.1"];
    const refusing = new EgressGuard(parseEgressPolicy(["*"]), { resolve });
    const admitting = new EgressGuard(parseEgressPolicy(["*", "127.0.0.1"]), { resolve });
    const env = { ...parseEnv(workerEnvSchema, s3Env(`http://s3.loopback.test:${new URL(s3Url).port}`)) };
    const dir = mkdtempSync(join(tmpdir(), "outputs-"));
    try {
      await expect(createOutputs({ ...env, OUTPUTS_DIR: dir }, { logger, egress: refusing })).rejects.toThrow(
        /S3_ENDPOINT: .*non-public address/,
      );
      // Admitted at boot; then each connection is checked again: once by a guard that admits the
      // address, once by one that refuses it (as if the name had moved since boot).
      const cases = [
        { egress: admitting, outcome: "succeeded" },
        { egress: { check: (url: string) => admitting.check(url), lookup: refusing.lookup }, outcome: "failed" },
      ];
      for (const { egress, outcome } of cases) {
        const registry = new Registry();
        const outputs = await createOutputs({ ...env, OUTPUTS_DIR: dir }, { logger, egress, registry });
        const file = await outputs.write("health-reports", `${outcome}.json`, { outcome });
        await outputs.close();
        const counted = (await registry.getSingleMetric("output_uploads_total")!.get()).values;
        expect(counted.find((v) => v.labels.outcome === outcome)?.value).toBe(1);
        const uploaded = await objectBytes(`${PREFIX}/${relative(dir, file).split(sep).join("/")}`);
        if (outcome === "succeeded") expect(uploaded?.equals(readFileSync(file))).toBe(true);
        else expect(uploaded).toBeUndefined();
      }
      expect(logLines.some((l) => l.includes("S3 upload given up") && l.includes("EGRESS_DENIED"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([refusing.close(), admitting.close()]);
    }
  });
});

describe("S3 configuration", () => {
  it("is all or nothing, naming every missing variable", () => {
    expect(() => parseEnv(workerEnvSchema, { S3_BUCKET: "exports" })).toThrow(ConfigError);
    expect(() => parseEnv(workerEnvSchema, { S3_SECRET_ACCESS_KEY: "secret" })).toThrow(/S3_BUCKET: required/);
    const issues = configIssues(() => parseEnv(gatewayEnvSchema, { S3_BUCKET: "exports", S3_ACCESS_KEY_ID: "id" }));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^S3_ENDPOINT: required with S3_BUCKET, S3_ACCESS_KEY_ID/);
    expect(issues[1]).toMatch(/^S3_SECRET_ACCESS_KEY: required/);
    expect(s3ConfigFrom(parseEnv(gatewayEnvSchema, {}))).toBeNull();
  });

  it("refuses an endpoint with credentials in it, and plain http in production", () => {
    const base = s3Env("http://user:pass@s3.example.test");
    expect(() => parseEnv(gatewayEnvSchema, base)).toThrow(/S3_ENDPOINT: must not carry a user name or password/);
    expect(() => parseEnv(gatewayEnvSchema, { ...s3Env("http://s3.example.test"), APP_ENV: "production" })).toThrow(
      /S3_ENDPOINT: must be https:\/\/ in production/,
    );
    expect(s3ConfigFrom(parseEnv(gatewayEnvSchema, s3Env("https://s3.example.test")))).toMatchObject({
      bucket: BUCKET,
      prefix: PREFIX,
      forcePathStyle: true,
    });
  });
});

/** The issues of the ConfigError `parse` throws. */
function configIssues(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error("expected a ConfigError");
}
