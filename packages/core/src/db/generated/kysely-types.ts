import type { ColumnType } from "kysely";
export type Generated<T> = T extends ColumnType<infer S, infer I, infer U>
  ? ColumnType<S, I | undefined, U>
  : ColumnType<T, T | undefined, T>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;

export const Role = {
    owner: "owner",
    admin: "admin",
    developer: "developer",
    viewer: "viewer"
} as const;
export type Role = (typeof Role)[keyof typeof Role];
export const McpTransport = {
    streamable_http: "streamable_http",
    sse: "sse"
} as const;
export type McpTransport = (typeof McpTransport)[keyof typeof McpTransport];
export const McpEnvironment = {
    development: "development",
    staging: "staging",
    production: "production"
} as const;
export type McpEnvironment = (typeof McpEnvironment)[keyof typeof McpEnvironment];
export const McpServerStatus = {
    active: "active",
    inactive: "inactive"
} as const;
export type McpServerStatus = (typeof McpServerStatus)[keyof typeof McpServerStatus];
export const HealthStatus = {
    healthy: "healthy",
    degraded: "degraded",
    unhealthy: "unhealthy",
    auth_required: "auth_required",
    unknown: "unknown"
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];
export const DiscoveryStatus = {
    never: "never",
    pending: "pending",
    running: "running",
    succeeded: "succeeded",
    failed: "failed"
} as const;
export type DiscoveryStatus = (typeof DiscoveryStatus)[keyof typeof DiscoveryStatus];
export const CapabilityKind = {
    tool: "tool",
    resource: "resource",
    resource_template: "resource_template",
    prompt: "prompt"
} as const;
export type CapabilityKind = (typeof CapabilityKind)[keyof typeof CapabilityKind];
export const CapabilityChangeType = {
    added: "added",
    changed: "changed",
    removed: "removed"
} as const;
export type CapabilityChangeType = (typeof CapabilityChangeType)[keyof typeof CapabilityChangeType];
export const DiscoveryRunStatus = {
    pending: "pending",
    running: "running",
    succeeded: "succeeded",
    failed: "failed"
} as const;
export type DiscoveryRunStatus = (typeof DiscoveryRunStatus)[keyof typeof DiscoveryRunStatus];
export const CredentialKind = {
    bearer: "bearer",
    headers: "headers"
} as const;
export type CredentialKind = (typeof CredentialKind)[keyof typeof CredentialKind];
export const ChatSessionStatus = {
    active: "active",
    archived: "archived"
} as const;
export type ChatSessionStatus = (typeof ChatSessionStatus)[keyof typeof ChatSessionStatus];
export const ChatTurnStatus = {
    queued: "queued",
    running: "running",
    completed: "completed",
    failed: "failed",
    cancelled: "cancelled",
    interrupted: "interrupted"
} as const;
export type ChatTurnStatus = (typeof ChatTurnStatus)[keyof typeof ChatTurnStatus];
export const ChatMessageRole = {
    user: "user",
    assistant: "assistant",
    tool: "tool"
} as const;
export type ChatMessageRole = (typeof ChatMessageRole)[keyof typeof ChatMessageRole];
export const ChatMessageStatus = {
    complete: "complete",
    partial: "partial"
} as const;
export type ChatMessageStatus = (typeof ChatMessageStatus)[keyof typeof ChatMessageStatus];
export const ChatToolCallStatus = {
    awaiting_approval: "awaiting_approval",
    running: "running",
    succeeded: "succeeded",
    failed: "failed",
    denied: "denied"
} as const;
export type ChatToolCallStatus = (typeof ChatToolCallStatus)[keyof typeof ChatToolCallStatus];
export const MembershipStatus = {
    invited: "invited",
    active: "active"
} as const;
export type MembershipStatus = (typeof MembershipStatus)[keyof typeof MembershipStatus];
export const PolicyDefaultAccess = {
    open: "open",
    closed: "closed"
} as const;
export type PolicyDefaultAccess = (typeof PolicyDefaultAccess)[keyof typeof PolicyDefaultAccess];
export const PolicyEffect = {
    allow: "allow",
    deny: "deny"
} as const;
export type PolicyEffect = (typeof PolicyEffect)[keyof typeof PolicyEffect];
export type ApiKey = {
    id: string;
    organizationId: string;
    userId: string;
    name: string;
    prefix: string;
    hash: string;
    scopes: string[];
    expiresAt: Timestamp | null;
    revokedAt: Timestamp | null;
    lastUsedAt: Timestamp | null;
    createdAt: Generated<Timestamp>;
    /**
     * The key that created this one (null when created with a JWT or by the system): it never outlives it.
     */
    parentKeyId: string | null;
};
export type AuditAnchor = {
    id: string;
    organizationId: string;
    seq: string;
    hash: string;
    signedAt: Timestamp;
    /**
     * `kid` of the ES256 key that signed it (the JWT key ring's thumbprint).
     */
    keyId: string;
    /**
     * base64url ES256 signature (IEEE P1363) over the canonical (organization, seq, hash, signedAt).
     */
    signature: string;
};
export type AuditLog = {
    id: string;
    organizationId: string;
    seq: string;
    actorType: string;
    actorId: string | null;
    action: string;
    targetType: string | null;
    targetId: string | null;
    requestId: string | null;
    ip: string | null;
    data: Generated<unknown>;
    prevHash: string;
    hash: string;
    createdAt: Generated<Timestamp>;
};
export type ChatMessage = {
    id: string;
    /**
     * Order within the session (a database sequence: messages written in the same millisecond keep their order).
     */
    position: Generated<number>;
    organizationId: string;
    sessionId: string;
    turnId: string | null;
    role: ChatMessageRole;
    content: string;
    status: Generated<ChatMessageStatus>;
    /**
     * For a tool message: the call it answers.
     */
    toolCallId: string | null;
    model: string | null;
    inputTokens: Generated<number>;
    outputTokens: Generated<number>;
    cachedTokens: Generated<number>;
    costUsd: Generated<string>;
    createdAt: Generated<Timestamp>;
};
export type ChatSession = {
    id: string;
    organizationId: string;
    userId: string | null;
    apiKeyId: string | null;
    title: string;
    serverIds: string[];
    status: Generated<ChatSessionStatus>;
    /**
     * The turn queued or running now: one at a time per session (set only when it was null).
     */
    activeTurnId: string | null;
    /**
     * Model for this session's turns instead of LLM_MODEL.
     */
    model: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type ChatToolCall = {
    id: string;
    organizationId: string;
    sessionId: string;
    turnId: string;
    /**
     * The assistant message that asked for it.
     */
    messageId: string;
    /**
     * The model's id of the call (unique within the turn).
     */
    callId: string;
    /**
     * Its place among the calls of its assistant message (the model's order; calls run at once).
     */
    position: Generated<number>;
    serverId: string | null;
    toolName: string;
    arguments: Generated<unknown>;
    /**
     * The result as text, cut to the stored maximum (`resultTruncated`).
     */
    result: string | null;
    resultTruncated: Generated<boolean>;
    status: ChatToolCallStatus;
    durationMs: number | null;
    error: string | null;
    createdAt: Generated<Timestamp>;
    finishedAt: Timestamp | null;
};
export type ChatTurn = {
    id: string;
    organizationId: string;
    sessionId: string;
    userId: string | null;
    apiKeyId: string | null;
    status: Generated<ChatTurnStatus>;
    model: string | null;
    error: string | null;
    cancelRequestedAt: Timestamp | null;
    startedAt: Timestamp | null;
    finishedAt: Timestamp | null;
    createdAt: Generated<Timestamp>;
};
export type DiscoveryRun = {
    id: string;
    organizationId: string;
    serverId: string;
    status: Generated<DiscoveryRunStatus>;
    /**
     * manual, registration or schedule
     */
    trigger: string;
    requestedByUserId: string | null;
    attempts: Generated<number>;
    error: string | null;
    /**
     * Counts of what was found and what changed.
     */
    summary: unknown | null;
    createdAt: Generated<Timestamp>;
    startedAt: Timestamp | null;
    finishedAt: Timestamp | null;
};
export type Event = {
    id: string;
    organizationId: string;
    type: string;
    aggregateId: string | null;
    payload: unknown;
    createdAt: Generated<Timestamp>;
    publishedAt: Timestamp | null;
};
export type HealthCheck = {
    id: string;
    organizationId: string;
    serverId: string;
    result: HealthStatus;
    latencyMs: number | null;
    error: string | null;
    checkedAt: Generated<Timestamp>;
};
export type McpCapability = {
    id: string;
    organizationId: string;
    serverId: string;
    kind: CapabilityKind;
    name: string;
    title: string | null;
    description: string | null;
    /**
     * Input schema of a tool, arguments of a prompt; null for resources.
     */
    inputSchema: unknown | null;
    /**
     * The whole definition as the server reported it.
     */
    definition: unknown;
    /**
     * SHA-256 of the canonical JSON of `definition`.
     */
    definitionHash: string;
    enabled: Generated<boolean>;
    /**
     * Set when a discovered tool definition changed (tool poisoning / rug-pull defence).
     */
    reviewRequired: Generated<boolean>;
    metadata: Generated<unknown>;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
    /**
     * Set when a discovery no longer finds it; cleared if it comes back.
     */
    removedAt: Timestamp | null;
};
export type McpCapabilityChange = {
    id: string;
    organizationId: string;
    serverId: string;
    capabilityId: string;
    discoveryRunId: string | null;
    kind: CapabilityKind;
    name: string;
    changeType: CapabilityChangeType;
    previousHash: string | null;
    newHash: string | null;
    createdAt: Generated<Timestamp>;
};
export type McpCredential = {
    id: string;
    organizationId: string;
    serverId: string;
    kind: CredentialKind;
    secretRef: string;
    /**
     * The origin (scheme, host, port) of the server's URL when the credential was stored. The
     * credential is only ever sent there: a server whose URL moves elsewhere loses it.
     */
    origin: string;
    /**
     * Names of custom headers (never their values), so the API can say what is sent.
     */
    headerNames: string[];
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
    rotatedAt: Timestamp | null;
};
export type McpServer = {
    id: string;
    organizationId: string;
    name: string;
    description: string | null;
    baseUrl: string;
    transport: Generated<McpTransport>;
    environment: Generated<McpEnvironment>;
    tags: string[];
    metadata: Generated<unknown>;
    status: Generated<McpServerStatus>;
    healthStatus: Generated<HealthStatus>;
    lastHealthCheckAt: Timestamp | null;
    healthLatencyMs: number | null;
    healthReason: string | null;
    /**
     * The status recent checks agree on but that has not yet been seen often enough to apply.
     */
    healthCandidate: HealthStatus | null;
    healthCandidateRun: Generated<number>;
    discoveryStatus: Generated<DiscoveryStatus>;
    lastDiscoveredAt: Timestamp | null;
    discoveryError: string | null;
    /**
     * From the last successful `initialize`.
     */
    serverInfo: unknown | null;
    protocolVersion: string | null;
    serverCapabilities: unknown | null;
    instructions: string | null;
    createdByUserId: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
    /**
     * Soft delete: a deregistered server leaves lists and reads, its row and history stay.
     */
    deletedAt: Timestamp | null;
};
export type Membership = {
    id: string;
    organizationId: string;
    userId: string;
    role: Role;
    /**
     * `invited` until the person's first login (OIDC login, issue 9); only `active` memberships authenticate.
     */
    status: Generated<MembershipStatus>;
    /**
     * The name this organization gave the member when adding them; another organization's name for the same user is never shown here.
     */
    name: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type Organization = {
    id: string;
    name: string;
    slug: string;
    /**
     * After a server's first discovery, tools that appear (new or back again) wait for review
     * like changed ones. An owner may turn this off.
     */
    holdNewCapabilitiesForReview: Generated<boolean>;
    /**
     * What a caller may do when no policy allows it (deny policies always win): `open` allows, `closed` refuses.
     */
    defaultAccess: Generated<PolicyDefaultAccess>;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type Policy = {
    id: string;
    organizationId: string;
    name: string;
    description: string | null;
    effect: PolicyEffect;
    actions: string[];
    subjectRoles: string[];
    subjectUserIds: string[];
    subjectApiKeyIds: string[];
    serverIds: string[];
    serverTags: string[];
    environments: string[];
    capabilityPatterns: string[];
    capabilityKinds: string[];
    createdByUserId: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type RefreshToken = {
    id: string;
    familyId: string;
    hash: string;
    expiresAt: Timestamp;
    rotatedAt: Timestamp | null;
    createdAt: Generated<Timestamp>;
};
export type RefreshTokenFamily = {
    id: string;
    userId: string;
    /**
     * The organization of the access tokens the family issues (a refresh may switch it).
     */
    organizationId: string;
    /**
     * The family ends at this time whatever its tokens say (JWT_REFRESH_TOKEN_TTL_SECONDS after login).
     */
    expiresAt: Timestamp;
    revokedAt: Timestamp | null;
    /**
     * `logout`, or `reuse` (a rotated token came back). A removed member's refresh is refused by the membership check instead.
     */
    revokedReason: string | null;
    createdAt: Generated<Timestamp>;
};
export type SecretValue = {
    ref: string;
    ciphertext: Buffer;
    iv: Buffer;
    authTag: Buffer;
    keyId: string;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type UsageBudget = {
    organizationId: string;
    /**
     * Cost budget in US dollars per month; null: none.
     */
    monthlyCostUsd: string | null;
    /**
     * API requests per month; null: none.
     */
    monthlyRequests: number | null;
    hardLimit: Generated<boolean>;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type UsageBudgetAlert = {
    id: string;
    organizationId: string;
    /**
     * UTC month, e.g. 2026-12
     */
    month: string;
    /**
     * cost or requests
     */
    metric: string;
    /**
     * 80 or 100 (percent)
     */
    threshold: number;
    used: string;
    budget: string;
    createdAt: Generated<Timestamp>;
};
export type UsageEvent = {
    id: string;
    organizationId: string;
    userId: string | null;
    apiKeyId: string | null;
    serverId: string | null;
    capabilityId: string | null;
    sessionId: string | null;
    kind: string;
    quantity: Generated<number>;
    inputTokens: Generated<number>;
    outputTokens: Generated<number>;
    costUsd: Generated<string>;
    cachedTokens: Generated<number>;
    model: string | null;
    toolName: string | null;
    durationMs: number | null;
    success: Generated<boolean>;
    metadata: Generated<unknown>;
    occurredAt: Generated<Timestamp>;
};
export type UsageRollup = {
    id: Generated<string>;
    organizationId: string;
    /**
     * hour or day
     */
    period: string;
    bucketStart: Timestamp;
    kind: string;
    serverId: string | null;
    toolName: string | null;
    userId: string | null;
    apiKeyId: string | null;
    model: string | null;
    events: number;
    quantity: string;
    errors: number;
    inputTokens: string;
    outputTokens: string;
    cachedTokens: string;
    costUsd: string;
    durationMsSum: string;
    durationCount: number;
    /**
     * Events per latency bucket (upper bounds in `LATENCY_BUCKETS_MS`, the last one open), for percentiles.
     */
    latencyHistogram: number[];
};
export type UsageRollupState = {
    id: Generated<number>;
    rolledUntil: Timestamp;
    updatedAt: Timestamp;
};
export type User = {
    id: string;
    email: string;
    name: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
    /**
     * The OIDC identity this user logs in as (`iss` and `sub` of the provider's ID token); null
     * until the first login. A user is found by these, never by email.
     */
    oidcIssuer: string | null;
    oidcSubject: string | null;
    lastLoginAt: Timestamp | null;
};
export type Webhook = {
    id: string;
    organizationId: string;
    url: string;
    description: Generated<string>;
    /**
     * Event types delivered (names from WEBHOOK_EVENT_TYPES).
     */
    eventTypes: string[];
    enabled: Generated<boolean>;
    /**
     * Failed attempts in a row; reset by a success. WEBHOOK_MAX_CONSECUTIVE_FAILURES disables it.
     */
    consecutiveFailures: Generated<number>;
    disabledAt: Timestamp | null;
    disabledReason: string | null;
    secretRotatedAt: Generated<Timestamp>;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type WebhookDelivery = {
    id: string;
    organizationId: string;
    webhookId: string;
    /**
     * The outbox event (no foreign key: published events are deleted by retention, deliveries stay).
     */
    eventId: string;
    eventType: string;
    /**
     * The JSON body sent, fixed when the delivery is created.
     */
    body: string;
    /**
     * pending | succeeded | failed
     */
    status: Generated<string>;
    attempts: Generated<number>;
    nextAttemptAt: Generated<Timestamp>;
    /**
     * A worker holds the delivery until then while it attempts it; a crashed worker's lease expires.
     */
    leaseUntil: Timestamp | null;
    lastAttemptAt: Timestamp | null;
    lastStatusCode: number | null;
    lastError: string | null;
    createdAt: Generated<Timestamp>;
    updatedAt: Timestamp;
};
export type WebhookDeliveryAttempt = {
    id: string;
    organizationId: string;
    deliveryId: string;
    attempt: number;
    /**
     * succeeded | failed
     */
    outcome: string;
    statusCode: number | null;
    /**
     * Why it failed: `http_status`, `timeout`, `network`, `egress_denied`, `response_too_large`, with a message.
     */
    error: string | null;
    durationMs: number;
    /**
     * The first bytes of the response body (WEBHOOK_RESPONSE_MAX_BYTES).
     */
    responseBody: string | null;
    createdAt: Generated<Timestamp>;
};
export type DB = {
    ApiKey: ApiKey;
    AuditAnchor: AuditAnchor;
    AuditLog: AuditLog;
    ChatMessage: ChatMessage;
    ChatSession: ChatSession;
    ChatToolCall: ChatToolCall;
    ChatTurn: ChatTurn;
    DiscoveryRun: DiscoveryRun;
    Event: Event;
    HealthCheck: HealthCheck;
    McpCapability: McpCapability;
    McpCapabilityChange: McpCapabilityChange;
    McpCredential: McpCredential;
    McpServer: McpServer;
    Membership: Membership;
    Organization: Organization;
    Policy: Policy;
    RefreshToken: RefreshToken;
    RefreshTokenFamily: RefreshTokenFamily;
    SecretValue: SecretValue;
    UsageBudget: UsageBudget;
    UsageBudgetAlert: UsageBudgetAlert;
    UsageEvent: UsageEvent;
    UsageRollup: UsageRollup;
    UsageRollupState: UsageRollupState;
    User: User;
    Webhook: Webhook;
    WebhookDelivery: WebhookDelivery;
    WebhookDeliveryAttempt: WebhookDeliveryAttempt;
};
