import { z } from "zod";

/** Rules for server fields, shared by register and update. */
const name = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");
const description = z.string().trim().max(2000, "must be at most 2000 characters").nullable();
const baseUrl = z
  .string()
  .trim()
  .max(2048, "must be at most 2048 characters")
  .refine((v) => URL.canParse(v), "must be an absolute URL")
  .refine((v) => !URL.canParse(v) || ["http:", "https:"].includes(new URL(v).protocol), "must be an http or https URL")
  .refine(
    (v) => !URL.canParse(v) || (new URL(v).username === "" && new URL(v).password === ""),
    "must not contain credentials; store them as server credentials instead",
  )
  .transform((v) => new URL(v).toString());
const tags = z
  .array(
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9._:/-]{0,63}$/, "tags are 1-64 characters: letters, digits and . _ : / -"),
  )
  .max(50, "at most 50 tags")
  .transform((list) => [...new Set(list)]);
const metadata = z
  .record(z.string(), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 16_384, "must be at most 16 KiB as JSON");

export const registerRules = z.object({
  name,
  description: description.optional(),
  baseUrl,
  tags: tags.nullish().transform((v) => v ?? []),
  metadata: metadata.nullish().transform((v) => v ?? {}),
});

export const updateRules = z.object({
  name: name.nullish(),
  description: description.optional(),
  baseUrl: baseUrl.nullish(),
  tags: tags.nullish(),
  metadata: metadata.nullish(),
});

/** Header names that the transport owns; a credential may not set them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "connection",
  "transfer-encoding",
  "upgrade",
  "accept",
  "mcp-session-id",
  "mcp-protocol-version",
]);

export const credentialsRules = z
  .object({
    bearerToken: z
      .string()
      .min(1, "must not be empty")
      .max(4096, "must be at most 4096 characters")
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
      .nullish(),
    headers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "header names are HTTP tokens")
          .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), "this header is set by the transport"),
        z
          .string()
          .max(4096, "header values are at most 4096 characters")
          .regex(/^[^\r\n]*$/, "no line breaks"),
      )
      .refine((h) => Object.keys(h).length >= 1 && Object.keys(h).length <= 20, "1 to 20 headers")
      .nullish(),
  })
  .refine((c) => Boolean(c.bearerToken) !== Boolean(c.headers), "give either bearerToken or headers");
