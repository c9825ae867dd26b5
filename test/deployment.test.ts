import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serveOperations } from "@sprintconnect/worker";
import { safeLoad } from "js-yaml";
import { Registry } from "prom-client";
import { NODE_FLAGS } from "../packages/cli/src/processes";

const ROOT = join(__dirname, "..");

interface ComposeService {
  command?: string[];
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  environment?: Record<string, string>;
  ports?: string[];
  profiles?: string[];
}
const compose = safeLoad(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
/** Services that run once and exit. */
const ONE_SHOTS = ["migrate"];

describe("the Docker image and docker-compose.yml", () => {
  it("build an image that runs in production, as a non-root user, by default", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const final = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(final).toMatch(/^ENV .*\bAPP_ENV=production\b/m);
    const user = /^USER (\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
  });

  it("run each process in its own service, plus PostgreSQL, Redis, a one-shot migration and an optional Vault", () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        "admin",
        "chat",
        "gateway",
        "metrics",
        "migrate",
        "postgres",
        "redis",
        "registry",
        "scheduler",
        "vault",
        "worker",
      ].sort(),
    );
    const processes = Object.entries(services).filter(([name]) => !["postgres", "redis", "vault"].includes(name));
    for (const [name, service] of processes) {
      const [node, ...args] = service.command ?? [];
      expect([name, node]).toEqual([name, "node"]);
      // V8 flags before the script, the same as `npm start` gives the process.
      const flags = args.slice(
        0,
        args.findIndex((a) => !a.startsWith("--")),
      );
      expect([name, flags]).toEqual([name, NODE_FLAGS[name] ?? []]);
      const [file, ...rest] = args.slice(flags.length);
      // One process per container: the built main of one workspace, never the `start` launcher.
      expect(rest).not.toContain("start");
      const source = (file as string).replace("/dist/", "/src/").replace(/\.js$/, ".ts");
      expect([name, existsSync(join(ROOT, source))]).toEqual([name, true]);
      expect([name, service.environment?.APP_ENV]).toEqual([name, "production"]);
    }
  });

  it("start the dev-mode Vault only with its profile, with the root token the user chose (none committed)", () => {
    // docker compose's own `${…}` interpolation, as written in the file.
    const fromEnv = (expression: string) => ["$", "{", expression, "}"].join("");
    const vault = services.vault as ComposeService;
    expect(vault.profiles).toEqual(["vault"]);
    expect(vault.command).toEqual(["server", "-dev"]);
    expect(vault.environment?.VAULT_DEV_ROOT_TOKEN_ID).toBe(fromEnv("VAULT_TOKEN:-"));
    expect(services.registry?.environment?.VAULT_TOKEN).toBe(fromEnv("VAULT_TOKEN:-"));
    expect(services.registry?.environment?.SECRET_STORE).toBe(fromEnv("SECRET_STORE:-local"));
  });

  it("give every service a restart policy and every long-running one a health check", () => {
    for (const [name, service] of Object.entries(services)) {
      const oneShot = ONE_SHOTS.includes(name);
      expect([name, service.restart]).toEqual([name, oneShot ? "on-failure" : "unless-stopped"]);
      if (oneShot) continue;
      expect([name, service.healthcheck?.disable ?? false]).toEqual([name, false]);
      expect([name, (service.healthcheck?.test ?? []).length > 1]).toEqual([name, true]);
    }
  });

  it("check HTTP processes on the port they listen on, and readiness where they have dependencies", () => {
    const ports: Record<string, string> = { gateway: "4000", worker: "9090", scheduler: "9091" };
    for (const name of ["registry", "chat", "metrics", "admin"]) ports[name] = services[name]?.environment?.PORT ?? "";
    expect(services.worker?.environment?.PROMETHEUS_METRICS_PORT).toBe("9090");
    expect(services.scheduler?.environment?.SCHEDULER_HEALTH_PORT).toBe("9091");
    for (const [name, port] of Object.entries(ports)) {
      const probe = (services[name]?.healthcheck?.test ?? []).join(" ");
      const path = ["worker", "scheduler"].includes(name) ? "health" : "ready";
      expect([name, probe]).toEqual([name, expect.stringContaining(`127.0.0.1:${port}/${path}`)]);
    }
  });

  it("publish only the gateway's port", () => {
    const published = Object.entries(services).filter(([, s]) => (s.ports ?? []).length > 0);
    expect(published.map(([name]) => name)).toEqual(["gateway"]);
  });
});

describe("a background process's operational endpoint", () => {
  const token = "m".repeat(40);
  let server: Awaited<ReturnType<typeof serveOperations>>;
  let url: string;
  beforeAll(async () => {
    server = await serveOperations({
      port: 0,
      host: "127.0.0.1",
      env: { APP_ENV: "production", METRICS_TOKEN: token },
      metrics: new Registry(),
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it("answers /health to anyone and /metrics only with the metrics token", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
