import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { CreateWebhookInput, UpdateWebhookInput } from "./webhook.input";
import type { WebhookService } from "./webhook.service";
import {
  Webhook,
  WebhookConnection,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookTest,
  WebhookWithSecret,
} from "./webhook.type";

@Resolver((_of) => Webhook)
export class WebhookResolver {
  constructor(private readonly service: WebhookService) {}

  @Authorized("webhooks:manage")
  @Query((_returns) => WebhookConnection, { description: "The organization's webhooks, newest first" })
  webhooks(
    @Ctx() ctx: SubgraphContext,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<WebhookConnection> {
    return this.service.list(requirePrincipal(ctx), limit, cursor);
  }

  @Authorized("webhooks:manage")
  @Query((_returns) => Webhook)
  webhook(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<Webhook> {
    return this.service.get(requirePrincipal(ctx), id);
  }

  @Authorized("webhooks:manage")
  @Query((_returns) => WebhookDeliveryConnection, {
    description: "A webhook's deliveries, newest first, each with every attempt",
  })
  webhookDeliveries(
    @Ctx() ctx: SubgraphContext,
    @Arg("webhookId", (_type) => ID) webhookId: string,
    @Arg("status", (_type) => String, { nullable: true, description: "pending, succeeded or failed" })
    status?: string,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<WebhookDeliveryConnection> {
    return this.service.deliveries(requirePrincipal(ctx), webhookId, status, limit, cursor);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => WebhookWithSecret, { description: "The returned `secret` is shown only this once" })
  createWebhook(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => CreateWebhookInput) input: CreateWebhookInput,
  ): Promise<WebhookWithSecret> {
    return this.service.create(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => Webhook)
  updateWebhook(
    @Ctx() ctx: SubgraphContext,
    @Arg("id", (_type) => ID) id: string,
    @Arg("input", (_type) => UpdateWebhookInput) input: UpdateWebhookInput,
  ): Promise<Webhook> {
    return this.service.update(actorOf(ctx, requirePrincipal(ctx)), id, input);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => Webhook, { description: "Deletes the webhook, its secret and its delivery log" })
  deleteWebhook(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<Webhook> {
    return this.service.delete(actorOf(ctx, requirePrincipal(ctx)), id);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => WebhookWithSecret, {
    description: "A new signing secret, shown only this once; the old one signs nothing from now on",
  })
  rotateWebhookSecret(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<WebhookWithSecret> {
    return this.service.rotateSecret(actorOf(ctx, requirePrincipal(ctx)), id);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => WebhookTest, { description: "Sends a `webhook.test` event to this webhook only" })
  testWebhook(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<WebhookTest> {
    return this.service.test(actorOf(ctx, requirePrincipal(ctx)), id);
  }

  @Authorized("webhooks:manage")
  @Mutation((_returns) => WebhookDelivery, {
    description:
      "Attempts a delivery again now, with the same `webhook-id` (one attempt if it had used up its attempts)",
  })
  redeliverWebhookDelivery(
    @Ctx() ctx: SubgraphContext,
    @Arg("webhookId", (_type) => ID) webhookId: string,
    @Arg("deliveryId", (_type) => ID) deliveryId: string,
  ): Promise<WebhookDelivery> {
    return this.service.redeliver(actorOf(ctx, requirePrincipal(ctx)), webhookId, deliveryId);
  }
}
