-- CreateEnum
CREATE TYPE "ChatTurnStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted');

-- CreateEnum
CREATE TYPE "ChatMessageRole" AS ENUM ('user', 'assistant', 'tool');

-- CreateEnum
CREATE TYPE "ChatMessageStatus" AS ENUM ('complete', 'partial');

-- CreateEnum
CREATE TYPE "ChatToolCallStatus" AS ENUM ('awaiting_approval', 'running', 'succeeded', 'failed', 'denied');

-- AlterTable
ALTER TABLE "ChatSession" ADD COLUMN     "activeTurnId" UUID,
ADD COLUMN     "model" TEXT;

-- AlterTable
ALTER TABLE "UsageEvent" ADD COLUMN     "cachedTokens" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "model" TEXT,
ADD COLUMN     "toolName" TEXT;

-- CreateTable
CREATE TABLE "ChatTurn" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "userId" UUID,
    "apiKeyId" UUID,
    "status" "ChatTurnStatus" NOT NULL DEFAULT 'queued',
    "model" TEXT,
    "error" TEXT,
    "cancelRequestedAt" TIMESTAMPTZ(3),
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatTurn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChatMessage" (
    "id" UUID NOT NULL,
    "position" SERIAL NOT NULL,
    "organizationId" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "turnId" UUID,
    "role" "ChatMessageRole" NOT NULL,
    "content" TEXT NOT NULL,
    "status" "ChatMessageStatus" NOT NULL DEFAULT 'complete',
    "toolCallId" UUID,
    "model" TEXT,
    "inputTokens" INTEGER NOT NULL DEFAULT 0,
    "outputTokens" INTEGER NOT NULL DEFAULT 0,
    "cachedTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" DECIMAL(18,8) NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChatToolCall" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "turnId" UUID NOT NULL,
    "messageId" UUID NOT NULL,
    "callId" TEXT NOT NULL,
    "serverId" UUID,
    "toolName" TEXT NOT NULL,
    "arguments" JSONB NOT NULL DEFAULT '{}',
    "result" TEXT,
    "resultTruncated" BOOLEAN NOT NULL DEFAULT false,
    "status" "ChatToolCallStatus" NOT NULL,
    "durationMs" INTEGER,
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ChatToolCall_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ChatTurn_sessionId_createdAt_idx" ON "ChatTurn"("sessionId", "createdAt");

-- CreateIndex
CREATE INDEX "ChatTurn_organizationId_status_idx" ON "ChatTurn"("organizationId", "status");

-- CreateIndex
CREATE INDEX "ChatMessage_sessionId_position_idx" ON "ChatMessage"("sessionId", "position");

-- CreateIndex
CREATE INDEX "ChatMessage_turnId_idx" ON "ChatMessage"("turnId");

-- CreateIndex
CREATE INDEX "ChatToolCall_sessionId_idx" ON "ChatToolCall"("sessionId");

-- CreateIndex
CREATE INDEX "ChatToolCall_messageId_idx" ON "ChatToolCall"("messageId");

-- CreateIndex
CREATE UNIQUE INDEX "ChatToolCall_turnId_callId_key" ON "ChatToolCall"("turnId", "callId");

-- CreateIndex
CREATE UNIQUE INDEX "ChatSession_activeTurnId_key" ON "ChatSession"("activeTurnId");

-- CreateIndex
CREATE INDEX "UsageEvent_sessionId_occurredAt_idx" ON "UsageEvent"("sessionId", "occurredAt");

-- AddForeignKey
ALTER TABLE "ChatTurn" ADD CONSTRAINT "ChatTurn_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatTurn" ADD CONSTRAINT "ChatTurn_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "ChatSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatMessage" ADD CONSTRAINT "ChatMessage_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatMessage" ADD CONSTRAINT "ChatMessage_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "ChatSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatMessage" ADD CONSTRAINT "ChatMessage_turnId_fkey" FOREIGN KEY ("turnId") REFERENCES "ChatTurn"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatToolCall" ADD CONSTRAINT "ChatToolCall_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatToolCall" ADD CONSTRAINT "ChatToolCall_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "ChatSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatToolCall" ADD CONSTRAINT "ChatToolCall_turnId_fkey" FOREIGN KEY ("turnId") REFERENCES "ChatTurn"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChatToolCall" ADD CONSTRAINT "ChatToolCall_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "ChatMessage"("id") ON DELETE CASCADE ON UPDATE CASCADE;

