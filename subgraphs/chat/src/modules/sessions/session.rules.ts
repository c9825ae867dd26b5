import { z } from "zod";

/** Shape rules for a new session; whether the servers exist is checked against the database. */
export const createRules = z.object({
  title: z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters").nullish(),
  serverIds: z
    .array(z.string().trim().toLowerCase())
    .min(1, "select at least one server")
    .max(20, "select at most 20 servers")
    .refine((ids) => new Set(ids).size === ids.length, "must not contain the same server twice"),
  model: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._:/-]{1,100}$/, "1 to 100 letters, digits and . _ : / -")
    .nullish(),
});
