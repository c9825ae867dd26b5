import { createHash } from "node:crypto";
import { canonicalize } from "json-canonicalize";

/** SHA-256 (hex) of the RFC 8785 canonical JSON of a capability definition. */
export function definitionHash(definition: unknown): string {
  return createHash("sha256").update(canonicalize(definition)).digest("hex");
}
