import { Field, Float, InputType, Int, ObjectType } from "type-graphql";

@InputType("SetUsageBudgetInput", { description: "Budgets to set; omitted ones stay, null removes one" })
export class SetUsageBudgetInput {
  @Field((_type) => String, {
    nullable: true,
    description: 'Monthly cost budget in US dollars, as a decimal string (e.g. "250.00"); null: none',
  })
  monthlyCostUsd?: string | null;

  @Field((_type) => Int, { nullable: true, description: "Monthly API requests; null: none" })
  monthlyRequests?: number | null;

  @Field((_type) => Boolean, {
    nullable: true,
    description: "Refuse chat turns (BUDGET_EXCEEDED, 402) once a budget is used up this month",
  })
  hardLimit?: boolean | null;
}

@ObjectType("UsageBudgetAlert", { description: "A threshold of a budget crossed this month" })
export class UsageBudgetAlert {
  @Field((_type) => String, { description: "cost or requests" })
  metric!: string;

  @Field((_type) => Int, { description: "80 or 100 (percent)" })
  threshold!: number;

  @Field((_type) => String, { description: "Usage when the crossing was recorded" })
  used!: string;

  @Field((_type) => Date)
  at!: Date;
}

@ObjectType("UsageBudget", {
  description: "The organization's monthly budgets (UTC calendar month) and this month's usage against them",
})
export class UsageBudget {
  @Field((_type) => String, { nullable: true })
  monthlyCostUsd!: string | null;

  @Field((_type) => Int, { nullable: true })
  monthlyRequests!: number | null;

  @Field((_type) => Boolean)
  hardLimit!: boolean;

  @Field((_type) => String, { description: "The UTC month, e.g. 2026-12" })
  month!: string;

  @Field((_type) => String, { description: "Cost so far this month (US dollars, exact decimal string)" })
  costUsd!: string;

  @Field((_type) => Float, { description: "API requests so far this month" })
  requests!: number;

  @Field((_type) => Float, { nullable: true, description: "Cost as a percentage of the cost budget" })
  costPercent!: number | null;

  @Field((_type) => Float, { nullable: true, description: "Requests as a percentage of the request budget" })
  requestsPercent!: number | null;

  @Field((_type) => Boolean, { description: "A hard limit refuses chat turns now" })
  exceeded!: boolean;

  @Field((_type) => [UsageBudgetAlert])
  alerts!: UsageBudgetAlert[];
}
