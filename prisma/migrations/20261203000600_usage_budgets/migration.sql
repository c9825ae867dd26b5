-- CreateTable
CREATE TABLE "UsageBudget" (
    "organizationId" UUID NOT NULL,
    "monthlyCostUsd" DECIMAL(18,8),
    "monthlyRequests" INTEGER,
    "hardLimit" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UsageBudget_pkey" PRIMARY KEY ("organizationId")
);

-- CreateTable
CREATE TABLE "UsageBudgetAlert" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "month" TEXT NOT NULL,
    "metric" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL,
    "used" DECIMAL(18,8) NOT NULL,
    "budget" DECIMAL(18,8) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UsageBudgetAlert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "UsageBudgetAlert_organizationId_month_metric_threshold_key" ON "UsageBudgetAlert"("organizationId", "month", "metric", "threshold");

-- AddForeignKey
ALTER TABLE "UsageBudget" ADD CONSTRAINT "UsageBudget_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

