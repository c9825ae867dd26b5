import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseOptions } from "../args";
import { CliError } from "../cli-error";
import { CompositionError, composeSupergraph, subgraphUrls } from "../compose";
import { loadEnv, REPO_ROOT } from "../config";
import { out } from "../output";

/** `schema compose`: writes schema/<subgraph>.graphql and schema/supergraph.graphql. */
export async function run(args: string[]): Promise<number> {
  parseOptions(args, {});
  const urls = subgraphUrls(loadEnv());
  let composed: Awaited<ReturnType<typeof composeSupergraph>>;
  try {
    composed = await composeSupergraph(urls);
  } catch (error) {
    if (error instanceof CompositionError) throw new CliError(error.message);
    throw error;
  }
  const dir = join(REPO_ROOT, "schema");
  mkdirSync(dir, { recursive: true });
  for (const [name, sdl] of Object.entries(composed.subgraphs)) {
    writeFileSync(join(dir, `${name}.graphql`), sdl);
    out(`wrote schema/${name}.graphql`);
  }
  writeFileSync(join(dir, "supergraph.graphql"), composed.supergraphSdl);
  out("wrote schema/supergraph.graphql");
  return 0;
}
