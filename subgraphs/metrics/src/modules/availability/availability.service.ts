import { checkInput, type Principal } from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import { MAX_RANGE_DAYS } from "../summary/summary.service";
import type { AvailabilityRepository } from "./availability.repository";
import type { ServerAvailabilityArgs, ServerAvailabilityReport } from "./availability.type";

const DAY_MS = 86_400_000;

const rules = z
  .object({
    from: z.date(),
    to: z.date(),
    environment: z.enum(["development", "staging", "production"]).nullish(),
    maxGapSeconds: z.number().int().min(1).max(86_400).nullish(),
  })
  .refine((v) => v.from < v.to, { message: "must be before `to`", path: ["from"] })
  .refine((v) => v.to.getTime() - v.from.getTime() <= MAX_RANGE_DAYS * DAY_MS, {
    message: `the range may span at most ${MAX_RANGE_DAYS} days`,
    path: ["to"],
  });

/**
 * Availability per server from its health check results: time in each state, uptime, incidents
 * and mean time to recovery. Raw results are kept RETENTION_HEALTH_CHECKS_DAYS; older time is unknown.
 */
export class AvailabilityService {
  constructor(private readonly availability: AvailabilityRepository) {}

  async report(principal: Principal, args: ServerAvailabilityArgs): Promise<ServerAvailabilityReport> {
    const input = checkInput(rules, {
      from: args.from,
      to: args.to,
      environment: args.environment,
      maxGapSeconds: args.maxGapSeconds,
    });
    if (args.serverId && !isUuid(args.serverId)) return { items: [] };
    const rows = await this.availability.summarize({
      organizationId: principal.organizationId,
      from: input.from,
      to: input.to,
      maxGapMs: (input.maxGapSeconds ?? 600) * 1000,
      serverId: args.serverId,
      environment: input.environment,
    });
    const windowMs = Math.max(0, Math.min(input.to.getTime(), Date.now()) - input.from.getTime());
    return {
      items: rows.map((row) => {
        const up = row.healthyMs + row.degradedMs;
        const known = up + row.unhealthyMs + row.authRequiredMs;
        return {
          ...row,
          uptimePercent: known > 0 ? (up / known) * 100 : null,
          unknownMs: Math.max(0, windowMs - known),
        };
      }),
    };
  }
}
