// graphql-ws subscribers in a child process, so that receiving and parsing 1,000 deliveries
// per event never runs on the event loop of the gateway being measured. Protocol over IPC:
//   parent → {type: "start", url, auth, connections, perConnection, query, filters}
//   child  → {type: "started"} once every subscription was sent
//   parent → {type: "status"}  child → {type: "status", live, errors, closed}
//   parent → {type: "report"}  child → {type: "report", deliveries: {[seq]: latency ms[]},
//            arrivals: {[round]: arrival epoch ms[]}, occurred: {[round]: earliest occurredAt epoch ms}, ...}
// An event's payload.name is "probe" (liveness), "bench:<seq>:<publish epoch ms>" (latency from
// that publish) or "round:<round>:<i>" (arrival times, compared by the parent with its commit).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const epochMs = () => performance.timeOrigin + performance.now();

const clients = [];
const live = new Set();
const deliveries = {};
const arrivals = {};
const occurred = {};
const errors = [];
let closed = 0;
let received = 0;

/** An error or close event as text: graphql-ws hands over CloseEvents, which JSON shows as {}. */
function describe(err) {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "code" in err) return `closed ${err.code} ${err.reason ?? ""}`;
  return JSON.stringify(err).slice(0, 300);
}

/** Connections open at most this many at a time, each acknowledged before the next. */
const CONNECT_CONCURRENCY = 10;

async function start(spec) {
  let acknowledge = () => undefined;
  let opening = [];
  for (let c = 0; c < spec.connections; c++) {
    if (opening.length >= CONNECT_CONCURRENCY) {
      await Promise.race([Promise.all(opening), new Promise((r) => setTimeout(r, 10_000))]);
      opening = [];
    }
    opening.push(
      new Promise((resolve) => {
        acknowledge = resolve;
      }),
    );
    const connected = acknowledge;
    const client = createClient({
      url: spec.url,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${spec.auth}` },
      retryAttempts: 0,
      on: {
        connected: () => connected(),
        closed: (event) => {
          closed++;
          connected();
          if (event?.code !== 1000) errors.push(describe(event));
        },
      },
    });
    clients.push(client);
    for (let s = 0; s < spec.perConnection; s++) {
      const key = `${c}.${s}`;
      const filter = spec.filters[(c * spec.perConnection + s) % spec.filters.length];
      client.subscribe(
        { query: spec.query, variables: { filter } },
        {
          next: (result) => {
            const at = epochMs();
            const name = result.data?.capabilityChanges?.name;
            if (typeof name !== "string") {
              errors.push(JSON.stringify(result).slice(0, 300));
              return;
            }
            if (name === "probe") {
              live.add(key);
              return;
            }
            const [kind, seq, publishedAt] = name.split(":");
            received++;
            if (kind === "round") {
              arrivals[seq] ??= [];
              arrivals[seq].push(at);
              const at0 = Date.parse(result.data.capabilityChanges.occurredAt);
              if (!(occurred[seq] <= at0)) occurred[seq] = at0;
              return;
            }
            deliveries[seq] ??= [];
            deliveries[seq].push(at - Number(publishedAt));
          },
          error: (err) => errors.push(describe(err)),
          complete: () => undefined,
        },
      );
    }
  }
  process.send({ type: "started" });
}

process.on("message", async (message) => {
  if (message.type === "start") void start(message);
  else if (message.type === "status") {
    process.send({ type: "status", live: live.size, received, errors: errors.length, firstError: errors[0], closed });
  } else if (message.type === "report") {
    process.send({
      type: "report",
      deliveries,
      arrivals,
      occurred,
      errors: errors.length,
      firstError: errors[0],
      closed,
    });
  } else if (message.type === "stop") {
    await Promise.allSettled(clients.map((client) => client.dispose()));
    process.disconnect();
  }
});

// The parent went away (a failed or interrupted bench): do not linger with open sockets.
process.on("disconnect", () => process.exit(0));
