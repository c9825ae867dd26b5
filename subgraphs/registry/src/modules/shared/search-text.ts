import { badRequest } from "@sprintconnect/core";

/** Longest text a search filter (`q`, `capability`, `name`, `tag`) may carry. */
export const MAX_SEARCH_TEXT_LENGTH = 200;

/**
 * The one check of free-text filters, for every list and search: a filter longer than
 * MAX_SEARCH_TEXT_LENGTH is BAD_REQUEST (it would only make the trigram and ILIKE scans
 * expensive; no name or description search needs more).
 */
export function checkSearchText<F extends object>(filter: F): F {
  const tooLong = Object.entries(filter)
    .filter(([, v]) => typeof v === "string" && v.length > MAX_SEARCH_TEXT_LENGTH)
    .map(([k]) => k);
  if (tooLong.length > 0) {
    throw badRequest(`Search text may be at most ${MAX_SEARCH_TEXT_LENGTH} characters: ${tooLong.join(", ")}`, {
      fields: tooLong,
      maxLength: MAX_SEARCH_TEXT_LENGTH,
    });
  }
  return filter;
}
