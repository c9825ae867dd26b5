import { AppError, ErrorCode } from "./errors";

/** The part of the egress guard (packages/mcp) a service needs to refuse a URL early. */
export interface EgressCheck {
  check(url: string): Promise<unknown>;
}

/**
 * Refuses, when a URL is stored, a URL the egress guard refuses (its `EGRESS_DENIED` error
 * goes to the caller as it is). A host that does not resolve from here is accepted: the
 * process that connects may resolve it, and checks it again, pinned, when it connects.
 */
export async function precheckEgress(egress: EgressCheck, url: string): Promise<void> {
  try {
    await egress.check(url);
  } catch (err) {
    const unresolvable =
      err instanceof AppError &&
      err.code === ErrorCode.EGRESS_DENIED &&
      (err.extensions.details as { reason?: string } | undefined)?.reason === "unresolvable";
    if (!unresolvable) throw err;
  }
}
