import { resolveKeys } from "@sprintconnect/core";
import { parseOptions } from "../args";
import { CliError } from "../cli-error";
import { loadEnv } from "../config";
import { note, out } from "../output";
import { healthUrl, Supervisor, stackServices, unbuilt } from "../processes";
import { migrateDatabase } from "./db-migrate";

/** `start`: migrate, then run the four subgraphs, the worker and the scheduler and, once the subgraphs answer, the gateway. */
export async function run(args: string[]): Promise<number> {
  parseOptions(args, {});
  const env = loadEnv();
  const applied = await migrateDatabase(env);
  say(applied.length ? `applied migrations: ${applied.join(", ")}` : "database is up to date");
  // Creates the development keys now, so the children all read the same file.
  resolveKeys(env);

  const { subgraphs, gateway, background } = stackServices(env);
  const missing = unbuilt([...subgraphs, gateway, ...background]);
  if (missing.length > 0) {
    throw new CliError(`Not built: ${missing.map((s) => s.file).join(", ")}. Run \`npm run build\` first.`);
  }

  const supervisor = new Supervisor();
  const onSignal = (signal: NodeJS.Signals) => {
    if (supervisor.stopping) {
      say(`${signal} received again, killing what is left`);
      supervisor.kill();
    } else {
      say(`${signal} received, stopping`);
      supervisor.stop(0);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    for (const service of [...subgraphs, ...background]) supervisor.spawn(service);
    await Promise.all(subgraphs.map((s) => supervisor.waitHealthy(s, healthUrl(env, s.port))));
    supervisor.spawn(gateway);
    await supervisor.waitHealthy(gateway, healthUrl(env, gateway.port));
    const base = `http://localhost:${env.GATEWAY_PORT}`;
    out("");
    out("SprintConnect is running:");
    out(`  GraphQL  ${base}/graphql`);
    out(`  REST     ${base}/v1`);
    out(`  Health   ${base}/health`);
    out("Press Ctrl-C to stop.");
    out("");
  } catch (error) {
    // A child died or did not come up in time: say why and stop the others.
    if (!supervisor.stopping) {
      say((error as Error).message);
      supervisor.stop(1);
    }
  }
  return supervisor.exited;
}

function say(line: string): void {
  note(`[start] ${line}`);
}
