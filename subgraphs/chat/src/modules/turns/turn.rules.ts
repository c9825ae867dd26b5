import { z } from "zod";

/** Shape rules for a user message; `maxChars` is CHAT_MAX_MESSAGE_CHARS. */
export const sendRules = (maxChars: number) =>
  z.object({
    content: z
      .string()
      .refine((v) => v.trim().length > 0, "must not be empty")
      .refine((v) => v.length <= maxChars, `must be at most ${maxChars} characters`),
  });
