import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { WebSocketServer } from "ws";

// Shared by the subgraphs and the gateway (imported there as "@sprintconnect/subgraph-kit/websocket",
// which loads nothing of type-graphql).

/** How long a closing app waits for WebSocket clients to acknowledge the close before dropping them. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Routes HTTP upgrades on `path` to `wss`. Other paths are refused with 404, unless another
 * upgrade listener is installed on the server to answer them.
 */
export function routeUpgrades(
  app: FastifyInstance,
  path: string,
  wss: WebSocketServer,
  /** Runs after every socket is closed, while the app closes (e.g. to drop upstream clients). */
  afterClose?: () => void,
): void {
  let closing = false;
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    if (pathname !== path || closing) {
      if (app.server.listenerCount("upgrade") === 1 || closing) {
        socket.end(`HTTP/1.1 ${closing ? "503 Service Unavailable" : "404 Not Found"}\r\nConnection: close\r\n\r\n`);
      }
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  app.server.on("upgrade", onUpgrade);
  // preClose runs before Fastify closes the HTTP server, which would otherwise wait for the
  // upgraded sockets forever.
  app.addHook("preClose", async () => {
    closing = true;
    app.server.off("upgrade", onUpgrade);
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
