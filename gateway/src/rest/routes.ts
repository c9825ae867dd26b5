/**
 * The REST compatibility layer, as one table. Each route runs one GraphQL operation through
 * the gateway itself, with the caller's principal, so REST and GraphQL share validation,
 * authorization, audit and limits. Variables come from the request by name: path parameters
 * (`:id` → `$id`), query parameters (`?limit=` → `$limit`, coerced by the variable's type;
 * unknown ones are refused) and the JSON body (→ `$input`). The response is the operation's
 * root field, or nothing for 204. The OpenAPI document is generated from this table and the
 * supergraph's types.
 */
export interface RestRoute {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Fastify path syntax. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** One GraphQL operation with one root field, plus the fragments it uses. */
  document: string;
  /** HTTP status on success; 204 sends no body. */
  status: 200 | 201 | 202 | 204;
  /**
   * Routes that answer without credentials (logging in: their credentials are in the body).
   * They are still rate limited per IP, and their INVALID_GRANT answers count as failed
   * authentications of the IP (`authFailurePlugin`).
   */
  public?: boolean;
}

const SERVER_FIELDS = `fragment McpServerFields on McpServer {
  id name description baseUrl transport environment tags metadata status
  health { status lastCheckedAt latencyMs }
  discovery { status lastDiscoveredAt error protocolVersion serverInfo capabilities instructions }
  credentials { kind headerNames origin updatedAt } credentialsDropped
  createdAt updatedAt
}`;

const CAPABILITY_FIELDS = `fragment McpCapabilityFields on McpCapability {
  id serverId kind name title description inputSchema definition definitionHash enabled reviewRequired metadata
  createdAt updatedAt
}`;

const API_KEY_FIELDS = `fragment ApiKeyFields on ApiKey {
  id name prefix scopes expiresAt revokedAt lastUsedAt createdAt userId
}`;

const CHAT_SESSION_FIELDS = `fragment ChatSessionFields on ChatSession {
  id title status serverIds model activeTurnId createdAt updatedAt
}`;

const CHAT_TOOL_CALL_FIELDS = `fragment ChatToolCallFields on ChatToolCall {
  id turnId messageId serverId toolName arguments result resultTruncated status durationMs error createdAt finishedAt
}`;

const CHAT_MESSAGE_FIELDS = `fragment ChatMessageFields on ChatMessage {
  id turnId role content status model inputTokens outputTokens cachedTokens costUsd toolCallId createdAt
  toolCalls { ...ChatToolCallFields }
} ${CHAT_TOOL_CALL_FIELDS}`;

const CHAT_TURN_FIELDS = `fragment ChatTurnFields on ChatTurn {
  id sessionId status model error createdAt finishedAt userMessage { ...ChatMessageFields }
} ${CHAT_MESSAGE_FIELDS}`;

// --- OIDC login (issue 9) ---
const AUTH_TOKENS_FIELDS = `fragment AuthTokensFields on AuthTokens {
  accessToken tokenType expiresIn expiresAt refreshToken refreshExpiresAt userId organizationId
}`;
// --- end OIDC login ---
// --- webhooks (issue 10) ---
const WEBHOOK_FIELDS = `fragment WebhookFields on Webhook {
  id url description eventTypes enabled consecutiveFailures disabledAt disabledReason secretRotatedAt createdAt updatedAt
}`;

const WEBHOOK_DELIVERY_FIELDS = `fragment WebhookDeliveryFields on WebhookDelivery {
  id webhookId eventId eventType status attemptCount nextAttemptAt lastAttemptAt lastStatusCode lastError payload createdAt
  attempts { id attempt outcome statusCode error durationMs responseBody createdAt }
}`;

const WEBHOOK_ROUTES: RestRoute[] = [
  {
    method: "POST",
    path: "/v1/webhooks",
    operationId: "createWebhook",
    summary: "Create a webhook subscription (the signing secret is shown once)",
    tag: "Webhooks",
    status: 201,
    document: `mutation CreateWebhook($input: CreateWebhookInput!) {
      createWebhook(input: $input) { secret webhook { ...WebhookFields } }
    } ${WEBHOOK_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/webhooks",
    operationId: "listWebhooks",
    summary: "List the organization's webhooks",
    tag: "Webhooks",
    status: 200,
    document: `query ListWebhooks($limit: Int, $cursor: String) {
      webhooks(limit: $limit, cursor: $cursor) { items { ...WebhookFields } nextCursor }
    } ${WEBHOOK_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/webhooks/:id",
    operationId: "getWebhook",
    summary: "Get a webhook",
    tag: "Webhooks",
    status: 200,
    document: `query GetWebhook($id: ID!) { webhook(id: $id) { ...WebhookFields } } ${WEBHOOK_FIELDS}`,
  },
  {
    method: "PATCH",
    path: "/v1/webhooks/:id",
    operationId: "updateWebhook",
    summary: "Update a webhook's URL, event types, description, or pause/enable it",
    tag: "Webhooks",
    status: 200,
    document: `mutation UpdateWebhook($id: ID!, $input: UpdateWebhookInput!) {
      updateWebhook(id: $id, input: $input) { ...WebhookFields }
    } ${WEBHOOK_FIELDS}`,
  },
  {
    method: "DELETE",
    path: "/v1/webhooks/:id",
    operationId: "deleteWebhook",
    summary: "Delete a webhook subscription",
    tag: "Webhooks",
    status: 204,
    document: `mutation DeleteWebhook($id: ID!) { deleteWebhook(id: $id) { id } }`,
  },
  {
    method: "POST",
    path: "/v1/webhooks/:id/rotate-secret",
    operationId: "rotateWebhookSecret",
    summary: "Replace the signing secret (the new one is shown once)",
    tag: "Webhooks",
    status: 200,
    document: `mutation RotateWebhookSecret($id: ID!) {
      rotateWebhookSecret(id: $id) { secret webhook { ...WebhookFields } }
    } ${WEBHOOK_FIELDS}`,
  },
  {
    method: "POST",
    path: "/v1/webhooks/:id/test",
    operationId: "testWebhook",
    summary: "Send a webhook.test event to this webhook",
    tag: "Webhooks",
    status: 202,
    document: `mutation TestWebhook($id: ID!) { testWebhook(id: $id) { eventId } }`,
  },
  {
    method: "GET",
    path: "/v1/webhooks/:id/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "The delivery log: deliveries, newest first, each with every attempt",
    tag: "Webhooks",
    status: 200,
    document: `query ListWebhookDeliveries($id: ID!, $status: String, $limit: Int, $cursor: String) {
      webhookDeliveries(webhookId: $id, status: $status, limit: $limit, cursor: $cursor) {
        items { ...WebhookDeliveryFields } nextCursor
      }
    } ${WEBHOOK_DELIVERY_FIELDS}`,
  },
  {
    method: "POST",
    path: "/v1/webhooks/:id/deliveries/:deliveryId/redeliver",
    operationId: "redeliverWebhookDelivery",
    summary: "Attempt a delivery again now (same webhook-id)",
    tag: "Webhooks",
    status: 202,
    document: `mutation RedeliverWebhookDelivery($id: ID!, $deliveryId: ID!) {
      redeliverWebhookDelivery(webhookId: $id, deliveryId: $deliveryId) { ...WebhookDeliveryFields }
    } ${WEBHOOK_DELIVERY_FIELDS}`,
  },
];
// --- end webhooks ---

const BUDGET_FIELDS = `fragment UsageBudgetFields on UsageBudget {
  monthlyCostUsd monthlyRequests hardLimit month costUsd requests costPercent requestsPercent exceeded
  alerts { metric threshold used at }
}`;
// ---- access policies (issue 9) ----
const POLICY_FIELDS = `fragment PolicyFields on Policy {
  id name description effect actions
  subjects { roles userIds apiKeyIds }
  resources { serverIds tags environments capabilityNames capabilityKinds }
  createdAt updatedAt
}`;

const EXCLUSION_FIELDS = `fragment DiscoveryExclusionFields on DiscoveryExclusion {
  serverId serverName capabilityId capabilityName capabilityKind reason policyId policyName
}`;
// ---- end access policies ----

export const ROUTES: RestRoute[] = [
  // MCP server registry
  {
    method: "POST",
    path: "/v1/mcp/servers",
    operationId: "registerMcpServer",
    summary: "Register a new MCP server",
    tag: "MCP servers",
    status: 201,
    document: `mutation RegisterMcpServer($input: RegisterMcpServerInput!) {
      registerMcpServer(input: $input) { ...McpServerFields }
    } ${SERVER_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/mcp/servers",
    operationId: "listMcpServers",
    summary: "List servers with filtering and pagination",
    tag: "MCP servers",
    status: 200,
    document: `query ListMcpServers($environment: McpEnvironment, $tag: String, $q: String, $limit: Int, $cursor: String) {
      mcpServers(environment: $environment, tag: $tag, q: $q, limit: $limit, cursor: $cursor) {
        items { ...McpServerFields } nextCursor
      }
    } ${SERVER_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/mcp/servers/:id",
    operationId: "getMcpServer",
    summary: "Get server details and current status",
    tag: "MCP servers",
    status: 200,
    document: `query GetMcpServer($id: ID!) { mcpServer(id: $id) { ...McpServerFields } } ${SERVER_FIELDS}`,
  },
  {
    method: "PATCH",
    path: "/v1/mcp/servers/:id",
    operationId: "updateMcpServer",
    summary: "Update server metadata and configuration",
    tag: "MCP servers",
    status: 200,
    document: `mutation UpdateMcpServer($id: ID!, $input: UpdateMcpServerInput!) {
      updateMcpServer(id: $id, input: $input) { ...McpServerFields }
    } ${SERVER_FIELDS}`,
  },
  {
    method: "DELETE",
    path: "/v1/mcp/servers/:id",
    operationId: "deregisterMcpServer",
    summary: "Deregister a server (soft delete)",
    tag: "MCP servers",
    status: 204,
    document: `mutation DeregisterMcpServer($id: ID!) { deregisterMcpServer(id: $id) { id } }`,
  },
  {
    method: "GET",
    path: "/v1/mcp/servers/:serverId/capabilities",
    operationId: "listMcpServerCapabilities",
    summary: "List discovered capabilities",
    tag: "MCP servers",
    status: 200,
    document: `query ListMcpServerCapabilities($serverId: ID!, $kind: CapabilityKind, $limit: Int, $cursor: String) {
      mcpServerCapabilities(serverId: $serverId, kind: $kind, limit: $limit, cursor: $cursor) {
        items { ...McpCapabilityFields } nextCursor
      }
    } ${CAPABILITY_FIELDS}`,
  },
  {
    method: "PATCH",
    path: "/v1/mcp/capabilities/:id",
    operationId: "updateMcpCapability",
    summary: "Update capability configuration",
    tag: "MCP servers",
    status: 200,
    document: `mutation UpdateMcpCapability($id: ID!, $input: UpdateMcpCapabilityInput!) {
      updateMcpCapability(id: $id, input: $input) { ...McpCapabilityFields }
    } ${CAPABILITY_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/mcp/servers/:id/health",
    operationId: "getMcpServerHealth",
    summary: "Get current health status",
    tag: "MCP servers",
    status: 200,
    document: `query GetMcpServerHealth($id: ID!) {
      mcpServerHealth(id: $id) {
        serverId status lastCheckedAt latencyMs reason pendingStatus pendingCount
        history { result latencyMs error checkedAt }
      }
    }`,
  },
  {
    method: "POST",
    path: "/v1/mcp/servers/:id/discover",
    operationId: "discoverMcpServer",
    summary: "Trigger a capability discovery job (202 with the job id)",
    tag: "MCP servers",
    status: 202,
    document: `mutation DiscoverMcpServer($id: ID!) { discoverMcpServer(id: $id) { jobId serverId status } }`,
  },

  {
    method: "GET",
    path: "/v1/mcp/discovery-jobs/:id",
    operationId: "getDiscoveryJob",
    summary: "State of a discovery job (the id POST …/discover returned)",
    tag: "MCP servers",
    status: 200,
    document: `query GetDiscoveryJob($id: ID!) {
      discoveryJob(id: $id) { id serverId status trigger attempts error summary createdAt startedAt finishedAt }
    }`,
  },
  {
    method: "GET",
    path: "/v1/mcp/servers/:serverId/capability-changes",
    operationId: "listCapabilityChanges",
    summary: "History: capabilities each discovery added, changed or removed",
    tag: "MCP servers",
    status: 200,
    document: `query ListCapabilityChanges($serverId: ID!, $limit: Int, $cursor: String) {
      mcpServerCapabilityChanges(serverId: $serverId, limit: $limit, cursor: $cursor) {
        items { id serverId capabilityId discoveryRunId kind name changeType previousHash newHash createdAt }
        nextCursor
      }
    }`,
  },

  // Discovery service for agents
  {
    method: "GET",
    path: "/v1/discovery/servers",
    operationId: "discoverServers",
    summary: "Search servers by capability, tag, environment, health and text; healthy servers first",
    tag: "Discovery",
    status: 200,
    document: `query DiscoverServers($capability: String, $tag: String, $environment: McpEnvironment, $health: HealthStatus, $q: String, $limit: Int, $cursor: String, $explain: Boolean) {
      discoverServers(capability: $capability, tag: $tag, environment: $environment, health: $health, q: $q, limit: $limit, cursor: $cursor, explain: $explain) {
        items { ...McpServerFields } nextCursor
        excluded { ...DiscoveryExclusionFields }
      }
    } ${SERVER_FIELDS} ${EXCLUSION_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/discovery/capabilities",
    operationId: "discoverCapabilities",
    summary: "Search capabilities by name, kind, server and text",
    tag: "Discovery",
    status: 200,
    document: `query DiscoverCapabilities($name: String, $kind: CapabilityKind, $serverId: ID, $q: String, $limit: Int, $cursor: String, $explain: Boolean) {
      discoverCapabilities(name: $name, kind: $kind, serverId: $serverId, q: $q, limit: $limit, cursor: $cursor, explain: $explain) {
        items {
          capability { ...McpCapabilityFields }
          server { id name baseUrl transport environment tags health { status lastCheckedAt latencyMs } }
        }
        nextCursor
        excluded { ...DiscoveryExclusionFields }
      }
    } ${CAPABILITY_FIELDS} ${EXCLUSION_FIELDS}`,
  },
  // ---- access policies (issue 9) ----
  {
    method: "GET",
    path: "/v1/discovery/policies",
    operationId: "discoveryPolicies",
    summary: "The access policies that apply to the caller, and the organization's default access",
    tag: "Discovery",
    status: 200,
    document: `query DiscoveryPolicies {
      discoveryPolicies { defaultAccess items { ...PolicyFields } }
    } ${POLICY_FIELDS}`,
  },
  {
    method: "POST",
    path: "/v1/policies",
    operationId: "createPolicy",
    summary: "Create an access policy (allow or deny; takes effect on the next request)",
    tag: "Policies",
    status: 201,
    document: `mutation CreatePolicy($input: CreatePolicyInput!) { createPolicy(input: $input) { ...PolicyFields } } ${POLICY_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/policies",
    operationId: "listPolicies",
    summary: "List the organization's access policies, newest first",
    tag: "Policies",
    status: 200,
    document: `query ListPolicies($limit: Int, $cursor: String) {
      policies(limit: $limit, cursor: $cursor) { items { ...PolicyFields } nextCursor }
    } ${POLICY_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/policies/:id",
    operationId: "getPolicy",
    summary: "Get an access policy",
    tag: "Policies",
    status: 200,
    document: `query GetPolicy($id: ID!) { policy(id: $id) { ...PolicyFields } } ${POLICY_FIELDS}`,
  },
  {
    method: "PATCH",
    path: "/v1/policies/:id",
    operationId: "updatePolicy",
    summary: "Change an access policy (subjects and resources are replaced whole)",
    tag: "Policies",
    status: 200,
    document: `mutation UpdatePolicy($id: ID!, $input: UpdatePolicyInput!) {
      updatePolicy(id: $id, input: $input) { ...PolicyFields }
    } ${POLICY_FIELDS}`,
  },
  {
    method: "DELETE",
    path: "/v1/policies/:id",
    operationId: "deletePolicy",
    summary: "Delete an access policy",
    tag: "Policies",
    status: 204,
    document: `mutation DeletePolicy($id: ID!) { deletePolicy(id: $id) { id } }`,
  },
  // ---- end access policies ----

  // Chat
  {
    method: "POST",
    path: "/v1/chat/sessions",
    operationId: "createChatSession",
    summary: "Create a chat session with a selection of servers",
    tag: "Chat",
    status: 201,
    document: `mutation CreateChatSession($input: CreateChatSessionInput!) {
      createChatSession(input: $input) { ...ChatSessionFields }
    } ${CHAT_SESSION_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/chat/sessions",
    operationId: "listChatSessions",
    summary: "List the caller's chat sessions",
    tag: "Chat",
    status: 200,
    document: `query ListChatSessions($limit: Int, $cursor: String) {
      chatSessions(limit: $limit, cursor: $cursor) { items { ...ChatSessionFields } nextCursor }
    } ${CHAT_SESSION_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/chat/sessions/:id",
    operationId: "getChatSession",
    summary: "Get a chat session",
    tag: "Chat",
    status: 200,
    document: `query GetChatSession($id: ID!, $limit: Int, $cursor: String) {
      chatSession(id: $id) {
        ...ChatSessionFields
        messages(limit: $limit, cursor: $cursor) { items { ...ChatMessageFields } nextCursor }
      }
    } ${CHAT_SESSION_FIELDS} ${CHAT_MESSAGE_FIELDS}`,
  },
  {
    method: "DELETE",
    path: "/v1/chat/sessions/:id",
    operationId: "deleteChatSession",
    summary: "Delete a chat session and its history",
    tag: "Chat",
    status: 204,
    document: `mutation DeleteChatSession($id: ID!) { deleteChatSession(id: $id) }`,
  },
  {
    method: "POST",
    path: "/v1/chat/sessions/:id/messages",
    operationId: "sendChatMessage",
    summary:
      "Send a message: starts a turn (202); the answer streams on chatEvents or WS /v1/chat/sessions/{id}/stream",
    tag: "Chat",
    status: 202,
    document: `mutation SendChatMessage($id: ID!, $input: SendChatMessageInput!) {
      sendChatMessage(sessionId: $id, input: $input) { ...ChatTurnFields }
    } ${CHAT_TURN_FIELDS}`,
  },
  {
    method: "POST",
    path: "/v1/chat/sessions/:id/cancel",
    operationId: "cancelChatTurn",
    summary: "Stop the session's running turn (the partial answer is kept)",
    tag: "Chat",
    status: 200,
    document: `mutation CancelChatTurn($id: ID!) { cancelChatTurn(sessionId: $id) { ...ChatTurnFields } } ${CHAT_TURN_FIELDS}`,
  },
  {
    method: "POST",
    path: "/v1/chat/sessions/:id/tool-calls/:toolCallId/approval",
    operationId: "resolveToolApproval",
    summary: "Approve or deny a tool call that waits for a person",
    tag: "Chat",
    status: 200,
    document: `mutation ResolveToolApproval($id: ID!, $toolCallId: ID!, $input: ResolveToolApprovalInput!) {
      resolveToolApproval(sessionId: $id, toolCallId: $toolCallId, input: $input) { ...ChatToolCallFields }
    } ${CHAT_TOOL_CALL_FIELDS}`,
  },

  // --- OIDC login (issue 9) ---
  {
    method: "POST",
    path: "/auth/token",
    operationId: "exchangeAuthorizationCode",
    summary:
      "Exchange an OIDC authorization code (with its PKCE verifier, redirect URI and nonce) for an access token and a refresh token",
    tag: "Auth",
    status: 200,
    public: true,
    document: `mutation ExchangeAuthorizationCode($input: ExchangeAuthorizationCodeInput!) {
      exchangeAuthorizationCode(input: $input) { ...AuthTokensFields }
    } ${AUTH_TOKENS_FIELDS}`,
  },
  {
    method: "POST",
    path: "/auth/refresh",
    operationId: "refreshAccessToken",
    summary: "Use up a refresh token for a new access token and the next refresh token (reuse ends the login)",
    tag: "Auth",
    status: 200,
    public: true,
    document: `mutation RefreshAccessToken($input: RefreshAccessTokenInput!) {
      refreshAccessToken(input: $input) { ...AuthTokensFields }
    } ${AUTH_TOKENS_FIELDS}`,
  },
  {
    method: "POST",
    path: "/auth/logout",
    operationId: "logout",
    summary: "End the login a refresh token belongs to",
    tag: "Auth",
    status: 204,
    public: true,
    document: `mutation Logout($input: LogoutInput!) { logout(input: $input) }`,
  },
  // --- end OIDC login ---

  // Authentication and administration
  {
    method: "GET",
    path: "/auth/me",
    operationId: "getMe",
    summary: "Current user profile and permissions",
    tag: "Auth",
    status: 200,
    document: `query GetMe {
      me {
        user { id email name }
        organization { id name slug }
        role scopes authMethod
        apiKey { ...ApiKeyFields }
      }
    } ${API_KEY_FIELDS}`,
  },
  {
    method: "POST",
    path: "/auth/api-keys",
    operationId: "createApiKey",
    summary: "Create an API key with scoped permissions (the key is shown once)",
    tag: "Auth",
    status: 201,
    document: `mutation CreateApiKey($input: CreateApiKeyInput!) {
      createApiKey(input: $input) { key apiKey { ...ApiKeyFields } }
    } ${API_KEY_FIELDS}`,
  },
  {
    method: "DELETE",
    path: "/auth/api-keys/:key_id",
    operationId: "revokeApiKey",
    summary: "Revoke an API key",
    tag: "Auth",
    status: 204,
    document: `mutation RevokeApiKey($key_id: ID!) { revokeApiKey(id: $key_id) { id } }`,
  },
  {
    method: "GET",
    path: "/v1/audit/logs",
    operationId: "listAuditLogs",
    summary: "Query audit logs",
    tag: "Administration",
    status: 200,
    document: `query ListAuditLogs($action: String, $targetId: String, $actorId: String, $from: DateTimeISO, $to: DateTimeISO, $limit: Int, $cursor: String) {
      auditLogs(action: $action, targetId: $targetId, actorId: $actorId, from: $from, to: $to, limit: $limit, cursor: $cursor) {
        items { id seq actorType actorId action targetType targetId requestId ip data prevHash hash createdAt }
        nextCursor
      }
    }`,
  },
  // Metrics
  {
    method: "GET",
    path: "/v1/metrics/usage",
    operationId: "usageSummary",
    summary:
      "Usage summed per time bucket (hour, day, week, month in a time zone) and per server, capability, user, API key, kind or model; repeat groupBy for several",
    tag: "Metrics",
    status: 200,
    document: `query UsageSummary($from: DateTimeISO!, $to: DateTimeISO!, $groupBy: [UsageDimension!], $interval: UsageInterval, $timeZone: String, $serverId: ID, $environment: String, $kind: String, $limit: Int, $cursor: String) {
      usageSummary(from: $from, to: $to, groupBy: $groupBy, interval: $interval, timeZone: $timeZone, serverId: $serverId, environment: $environment, kind: $kind, limit: $limit, cursor: $cursor) {
        items {
          bucket kind serverId toolName userId apiKeyId model
          events errors quantity inputTokens outputTokens cachedTokens costUsd avgDurationMs
        }
        nextCursor timeZone rolledUntil
      }
    }`,
  },
  {
    method: "GET",
    path: "/v1/metrics/costs",
    operationId: "usageCosts",
    summary:
      "Tokens and cost per time bucket and per user, model, server or API key (repeat groupBy): the usage summary's cost columns",
    tag: "Metrics",
    status: 200,
    document: `query UsageCosts($from: DateTimeISO!, $to: DateTimeISO!, $groupBy: [UsageDimension!], $interval: UsageInterval, $timeZone: String, $serverId: ID, $environment: String, $kind: String, $limit: Int, $cursor: String) {
      usageSummary(from: $from, to: $to, groupBy: $groupBy, interval: $interval, timeZone: $timeZone, serverId: $serverId, environment: $environment, kind: $kind, limit: $limit, cursor: $cursor) {
        items { bucket userId model serverId apiKeyId events inputTokens outputTokens cachedTokens costUsd }
        nextCursor timeZone rolledUntil
      }
    }`,
  },
  {
    method: "GET",
    path: "/v1/metrics/top",
    operationId: "usageTop",
    summary: "Servers or their tools ranked by calls, errors, p95 latency, tokens or cost over a range",
    tag: "Metrics",
    status: 200,
    document: `query UsageTop($from: DateTimeISO!, $to: DateTimeISO!, $by: UsageTopTarget, $metric: UsageTopMetric, $kind: String, $environment: String, $limit: Int) {
      usageTop(from: $from, to: $to, by: $by, metric: $metric, kind: $kind, environment: $environment, limit: $limit) {
        items { rank serverId toolName calls errors tokens costUsd p95LatencyMs p95AboveLastBucket }
      }
    }`,
  },
  {
    method: "GET",
    path: "/v1/metrics/budget",
    operationId: "usageBudget",
    summary:
      "The organization's monthly budgets, this month's cost and requests against them, and the thresholds crossed",
    tag: "Metrics",
    status: 200,
    document: `query UsageBudget { usageBudget { ...UsageBudgetFields } } ${BUDGET_FIELDS}`,
  },
  {
    method: "PATCH",
    path: "/v1/metrics/budget",
    operationId: "setUsageBudget",
    summary: "Set monthly cost and request budgets and whether using one up refuses chat turns (402 BUDGET_EXCEEDED)",
    tag: "Metrics",
    status: 200,
    document: `mutation SetUsageBudget($input: SetUsageBudgetInput!) { setUsageBudget(input: $input) { ...UsageBudgetFields } } ${BUDGET_FIELDS}`,
  },
  {
    method: "GET",
    path: "/v1/metrics/health",
    operationId: "serverAvailability",
    summary:
      "Availability per server over a window, from its health checks: uptime, time in each state, incidents, MTTR",
    tag: "Metrics",
    status: 200,
    document: `query ServerAvailability($from: DateTimeISO!, $to: DateTimeISO!, $serverId: ID, $environment: String, $maxGapSeconds: Int) {
      serverAvailability(from: $from, to: $to, serverId: $serverId, environment: $environment, maxGapSeconds: $maxGapSeconds) {
        items { serverId checks uptimePercent healthyMs degradedMs unhealthyMs authRequiredMs unknownMs incidents openIncident mttrMs }
      }
    }`,
  },
  // webhooks (issue 10)
  ...WEBHOOK_ROUTES,
];
