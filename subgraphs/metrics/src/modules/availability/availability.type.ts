import { ArgsType, Field, Float, ID, Int, ObjectType } from "type-graphql";

@ArgsType()
export class ServerAvailabilityArgs {
  @Field((_type) => Date, { description: "Start of the window (inclusive)" })
  from!: Date;

  @Field((_type) => Date, { description: "End of the window (exclusive); at most 400 days after `from`" })
  to!: Date;

  @Field((_type) => ID, { nullable: true })
  serverId?: string | null;

  @Field((_type) => String, { nullable: true, description: "Only servers of this environment" })
  environment?: string | null;

  @Field((_type) => Int, {
    nullable: true,
    description:
      "How long one check's result stands when no next check follows (seconds, 1 to 86400; default 600); time not covered by a result is unknown",
  })
  maxGapSeconds?: number | null;
}

@ObjectType("ServerAvailability", {
  description:
    "A server's availability over a window, from its health checks: each result stands until the next check (at most maxGapSeconds)",
})
export class ServerAvailability {
  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => Int, { description: "Checks in the window" })
  checks!: number;

  @Field((_type) => Float, {
    nullable: true,
    description: "Healthy or degraded time as a percentage of the time with a known result; null when none is known",
  })
  uptimePercent!: number | null;

  @Field((_type) => Float)
  healthyMs!: number;

  @Field((_type) => Float)
  degradedMs!: number;

  @Field((_type) => Float)
  unhealthyMs!: number;

  @Field((_type) => Float)
  authRequiredMs!: number;

  @Field((_type) => Float, { description: "Time in the window with no result standing" })
  unknownMs!: number;

  @Field((_type) => Int, {
    description: "Incidents that began in the window: runs of unhealthy or auth_required results",
  })
  incidents!: number;

  @Field((_type) => Boolean, { description: "The last incident has not recovered by the end of the window" })
  openIncident!: boolean;

  @Field((_type) => Float, {
    nullable: true,
    description: "Mean time to recovery of the incidents that began and recovered in the window (ms)",
  })
  mttrMs!: number | null;
}

@ObjectType("ServerAvailabilityReport", { description: "Availability of the organization's servers over a window" })
export class ServerAvailabilityReport {
  @Field((_type) => [ServerAvailability], { description: "Servers with a check in or standing into the window" })
  items!: ServerAvailability[];
}
