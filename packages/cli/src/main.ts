#!/usr/bin/env node
import { ConfigError } from "@sprintconnect/core";
import { CliError } from "./cli-error";
import { note, out } from "./output";

const USAGE = `Usage: sprintconnect <command> [options]

Commands:
  db migrate                       Create the database if needed, apply pending migrations and
                                   grant the application role (APP_DATABASE_URL)
  org create --name <name> --owner-email <email> [--owner-name <name>] [--json]
                                   Create an organization, its owner and an owner API key
  token create --user <id> --org <id> [--ttl <seconds>] [--json]
                                   Issue an access token (JWT) for a member
  audit verify --org <id> [--json] Verify an organization's audit hash chain and its newest signed
                                   anchor, then anchor its head (exit 1 if broken)
  secrets migrate --to vault [--prefix <ref>] [--delete-local] [--json]
                                   Copy the local secret store's secrets to Vault (VAULT_ADDR,
                                   VAULT_TOKEN); safe to re-run; prints counts, never a secret
  schema compose                   Write schema/<subgraph>.graphql and schema/supergraph.graphql
  start                            Migrate, then run the subgraphs and the gateway
  help                             Show this text

Configuration comes from environment variables (DATABASE_URL, JWT_SECRET_KEY, ...), checked before
every command; see packages/core/src/config.ts.`;

type Command = () => Promise<{ run(args: string[]): Promise<number> }>;

// Loaded on demand: composing the schema loads every subgraph, migrating needs none of them.
const COMMANDS: Record<string, Command> = {
  "db migrate": () => import("./commands/db-migrate.js"),
  "org create": () => import("./commands/org-create.js"),
  "token create": () => import("./commands/token-create.js"),
  "audit verify": () => import("./commands/audit-verify.js"),
  "secrets migrate": () => import("./commands/secrets-migrate.js"),
  "schema compose": () => import("./commands/schema-compose.js"),
  start: () => import("./commands/start.js"),
};

async function main(argv: string[]): Promise<number> {
  const [first = "help", second = ""] = argv;
  if (first === "help" || first === "--help" || first === "-h") {
    out(USAGE);
    return 0;
  }
  const twoWords = `${first} ${second}`;
  const [name, args] = COMMANDS[twoWords] ? [twoWords, argv.slice(2)] : [first, argv.slice(1)];
  const load = COMMANDS[name];
  if (!load) {
    note(`Unknown command: ${argv.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load()).run(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      note(error.message);
      return 1;
    }
    if (error instanceof CliError) {
      note(`error: ${error.message}`);
      if (error.exitCode === 2) note(`\n${USAGE}`);
      return error.exitCode;
    }
    // AppError (validation, conflicts) and connection failures: one line, no stack.
    const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
    note(`error: ${code ? `${String(code)}: ` : ""}${(error as Error).message}`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
