import type { z } from "zod";
import { validationFailed } from "./errors";

/**
 * Parses `input` with `rules`; every problem is reported at once in one VALIDATION_FAILED
 * whose `details.fields` lists each field and its message.
 */
export function checkInput<S extends z.ZodType>(rules: S, input: unknown): z.infer<S> {
  const result = rules.safeParse(input);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
  throw validationFailed(fields.map((f) => `${f.field}: ${f.message}`).join("; "), { fields });
}
