import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, ID, Int, ObjectType } from "type-graphql";

@ObjectType("Webhook", {
  description:
    "An endpoint that receives the organization's events, signed per Standard Webhooks; its secret is never shown again after creation or rotation",
})
export class Webhook {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String, { description: "Where deliveries are POSTed (http or https, checked by the egress guard)" })
  url!: string;

  @Field((_type) => String)
  description!: string;

  @Field((_type) => [String], { description: "The event types delivered" })
  eventTypes!: string[];

  @Field((_type) => Boolean, { description: "False when paused by a person or disabled after failures" })
  enabled!: boolean;

  @Field((_type) => Int, { description: "Failed attempts in a row; a success resets it" })
  consecutiveFailures!: number;

  @Field((_type) => Date, { nullable: true, description: "When it was disabled after a run of failures" })
  disabledAt!: Date | null;

  @Field((_type) => String, { nullable: true })
  disabledReason!: string | null;

  @Field((_type) => Date)
  secretRotatedAt!: Date;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("WebhookConnection", { description: "A page of webhooks" })
export class WebhookConnection {
  @Field((_type) => [Webhook])
  items!: Webhook[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}

@ObjectType("WebhookWithSecret", { description: "A webhook and its signing secret, shown only this once" })
export class WebhookWithSecret {
  @Field((_type) => Webhook)
  webhook!: Webhook;

  @Field((_type) => String, {
    description: "The signing secret (`whsec_…`, Standard Webhooks). It cannot be shown again; rotate it if lost",
  })
  secret!: string;
}

@ObjectType("WebhookTest", { description: "A `webhook.test` event queued for one webhook" })
export class WebhookTest {
  @Field((_type) => ID, { description: "The event's id, the `id` of the delivered message" })
  eventId!: string;
}

@ObjectType("WebhookDeliveryAttempt", { description: "One HTTP attempt of a delivery" })
export class WebhookDeliveryAttempt {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => Int, { description: "1 for the first attempt" })
  attempt!: number;

  @Field((_type) => String, {
    description: "`succeeded`, `failed`, `pending` (in flight) or `interrupted` (the worker stopped mid-attempt)",
  })
  outcome!: string;

  @Field((_type) => Int, { nullable: true })
  statusCode!: number | null;

  @Field((_type) => String, { nullable: true })
  error!: string | null;

  @Field((_type) => Int)
  durationMs!: number;

  @Field((_type) => String, { nullable: true, description: "The first KiB of the response body" })
  responseBody!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("WebhookDelivery", {
  description: "One event for one webhook; its id is the `webhook-id` header, the same on every attempt",
})
export class WebhookDelivery {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID)
  webhookId!: string;

  @Field((_type) => ID)
  eventId!: string;

  @Field((_type) => String)
  eventType!: string;

  @Field((_type) => String, { description: "`pending`, `succeeded` or `failed` (attempts used up)" })
  status!: string;

  @Field((_type) => Int)
  attemptCount!: number;

  @Field((_type) => Date, { nullable: true, description: "When the next attempt is due (pending only)" })
  nextAttemptAt!: Date | null;

  @Field((_type) => Date, { nullable: true })
  lastAttemptAt!: Date | null;

  @Field((_type) => Int, { nullable: true })
  lastStatusCode!: number | null;

  @Field((_type) => String, { nullable: true })
  lastError!: string | null;

  @Field((_type) => JSONObjectScalar, { description: "The message body sent" })
  payload!: Record<string, unknown>;

  @Field((_type) => [WebhookDeliveryAttempt], { description: "Every attempt, oldest first" })
  attempts!: WebhookDeliveryAttempt[];

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("WebhookDeliveryConnection", { description: "A page of deliveries, newest first" })
export class WebhookDeliveryConnection {
  @Field((_type) => [WebhookDelivery])
  items!: WebhookDelivery[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}
