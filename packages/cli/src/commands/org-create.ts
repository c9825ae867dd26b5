import { createOrganization } from "@sprintconnect/admin-subgraph";
import { resolveKeys } from "@sprintconnect/core";
import { parseOptions, required } from "../args";
import { connect, loadEnv } from "../config";
import { out } from "../output";

/** `org create --name <n> --owner-email <e> [--owner-name <n>] [--json]` */
export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    name: { type: "string" },
    "owner-email": { type: "string" },
    "owner-name": { type: "string" },
    json: { type: "boolean" },
  });
  const name = required(options.name, "--name");
  const ownerEmail = required(options["owner-email"], "--owner-email");
  const env = loadEnv();
  const pepper = resolveKeys(env).apiKeyPepper;
  const db = connect(env);
  try {
    const created = await createOrganization(db, pepper, { name, ownerEmail, ownerName: options["owner-name"] });
    if (options.json) {
      out(JSON.stringify({ organizationId: created.organizationId, userId: created.userId, apiKey: created.apiKey }));
    } else {
      out(`Organization ${name} created.`);
      out(`  organization id: ${created.organizationId}`);
      out(`  owner user id:   ${created.userId}`);
      out(`  owner API key:   ${created.apiKey}`);
      out("The API key is shown only this once: keep it somewhere safe.");
    }
    return 0;
  } finally {
    await db.$disconnect();
  }
}
