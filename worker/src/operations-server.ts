import { createServer, type Server } from "node:http";
import { operationsAccess } from "@sprintconnect/core";
import type { Registry } from "prom-client";

/**
 * The operational HTTP endpoint of a background process: GET /health (the process answers;
 * what the container health check asks) and, given a registry, GET /metrics for callers with
 * METRICS_TOKEN (`operationsAccess`, as on the gateway).
 */
export async function serveOperations(options: {
  port: number;
  host: string;
  env: { APP_ENV: string; METRICS_TOKEN?: string | undefined };
  metrics?: Registry;
}): Promise<Server> {
  const { metrics, env } = options;
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/health") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    const access = operationsAccess(req.headers.authorization, env);
    if (req.method !== "GET" || path !== "/metrics" || !metrics || access === "disabled") {
      res.writeHead(404).end();
      return;
    }
    if (access === "unauthenticated") {
      res.writeHead(401).end();
      return;
    }
    metrics.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
