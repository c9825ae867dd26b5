import { WEBHOOK_EVENT_TYPES } from "@sprintconnect/core";
import { z } from "zod";

const url = z
  .string()
  .trim()
  .max(2048, "must be at most 2048 characters")
  .refine((value) => {
    try {
      const parsed = new URL(value);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an http or https URL");

const eventTypes = z
  .array(
    z.enum(WEBHOOK_EVENT_TYPES, {
      error: (issue) => `unknown event type "${String(issue.input)}"; one of: ${WEBHOOK_EVENT_TYPES.join(", ")}`,
    }),
  )
  .min(1, "must name at least one event type")
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((list) => [...new Set(list)]);

const description = z.string().trim().max(500, "must be at most 500 characters");

export const createWebhookRules = z.object({ url, eventTypes, description: description.nullish() });

export const updateWebhookRules = z.object({
  url: url.nullish(),
  eventTypes: eventTypes.nullish(),
  description: description.nullish(),
  enabled: z.boolean().nullish(),
});

export const deliveryStatusRules = z.enum(["pending", "succeeded", "failed"]).nullish();

/** A URL as audit entries and events show it: without query or fragment, which may carry tokens. */
export function redactedUrl(value: string): string {
  const parsed = new URL(value);
  return `${parsed.origin}${parsed.pathname}`;
}
