import { parseArgs } from "node:util";
import { usageError } from "./cli-error";

type OptionSpec = Record<string, { type: "string" | "boolean" }>;
type Values<S extends OptionSpec> = {
  [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : string;
};

/** Parses a command's options strictly: unknown options and stray words are usage errors. */
export function parseOptions<S extends OptionSpec>(args: string[], options: S): Values<S> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values<S>;
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** A required option's value, or a usage error naming it. */
export function required(value: string | undefined, flag: string): string {
  if (!value) throw usageError(`${flag} is required`);
  return value;
}

/** Checks that `value` is a UUID (ids of organizations and users are). */
export function uuid(value: string, flag: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw usageError(`${flag} must be a UUID`);
  }
  return value;
}
