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
  /** Routes that answer without credentials (none yet: every route needs a principal). */
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
];
