-- A tool call's place among the calls of its assistant message: the calls of one message run at
-- once and may be created in the same millisecond, so createdAt alone does not keep the model's order.
ALTER TABLE "ChatToolCall" ADD COLUMN "position" INTEGER NOT NULL DEFAULT 0;

-- Calls stored before: their order by creation (ties by id), as they were read until now.
UPDATE "ChatToolCall" AS c
   SET "position" = o.n - 1
  FROM (SELECT id, row_number() OVER (PARTITION BY "messageId" ORDER BY "createdAt", id) AS n
          FROM "ChatToolCall") AS o
 WHERE o.id = c.id AND o.n > 1;
