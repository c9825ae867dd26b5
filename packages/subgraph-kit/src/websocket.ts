import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { WebSocketServer } from "ws";

// Shared by the subgraphs and the gateway (imported there as "@sprintconnect/subgraph-kit/websocket",
// which loads nothing of type-graphql).

/** How long a closing app waits for WebSocket clients to acknowledge the close before dropping them. */
const CLOSE_GRACE_MS = 1_000;

/** Where an upgrade goes: a WebSocket server, for requests whose path `matches`. */
interface UpgradeRoute {
  matches: (pathname: string) => boolean;
  wss: WebSocketServer;
}

/** The routes of each app; one `upgrade` listener per app serves them all. */
const routesByApp = new WeakMap<FastifyInstance, { routes: UpgradeRoute[]; closing: boolean }>();

/**
 * Routes HTTP upgrades whose path is `path` (or satisfies it) to `wss`. One listener per app
 * serves every route; a path no route takes is refused with 404, and any upgrade while the app
 * closes with 503.
 */
export function routeUpgrades(
  app: FastifyInstance,
  path: string | ((pathname: string) => boolean),
  wss: WebSocketServer,
  /** Runs after every socket is closed, while the app closes (e.g. to drop upstream clients). */
  afterClose?: () => void,
): void {
  let state = routesByApp.get(app);
  if (!state) {
    const created = { routes: [] as UpgradeRoute[], closing: false };
    state = created;
    routesByApp.set(app, created);
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
      const route = created.closing ? undefined : created.routes.find((r) => r.matches(pathname));
      if (!route) {
        socket.end(
          `HTTP/1.1 ${created.closing ? "503 Service Unavailable" : "404 Not Found"}\r\nConnection: close\r\n\r\n`,
        );
        return;
      }
      route.wss.handleUpgrade(request, socket, head, (ws) => route.wss.emit("connection", ws, request));
    };
    app.server.on("upgrade", onUpgrade);
    // preClose runs before Fastify closes the HTTP server, which would otherwise wait for the
    // upgraded sockets forever.
    app.addHook("preClose", async () => {
      created.closing = true;
      app.server.off("upgrade", onUpgrade);
    });
  }
  state.routes.push({ matches: typeof path === "string" ? (p) => p === path : path, wss });
  app.addHook("preClose", async () => {
    await closeWebSocketServer(wss);
    afterClose?.();
  });
}

/** Closes every client (1001 Going Away, so graphql-ws clients reconnect elsewhere), then the server. */
export async function closeWebSocketServer(wss: WebSocketServer, graceMs = CLOSE_GRACE_MS): Promise<void> {
  for (const client of wss.clients) client.close(1001, "Going away");
  const deadline = setTimeout(() => {
    for (const client of wss.clients) client.terminate();
  }, graceMs);
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  clearTimeout(deadline);
}
