import { z } from "zod";

/** A person's email, compared and stored lowercase. */
export const emailRule = z.string().trim().toLowerCase().pipe(z.email("must be an email address").max(320));

/** A person's display name. */
export const personNameRule = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");
