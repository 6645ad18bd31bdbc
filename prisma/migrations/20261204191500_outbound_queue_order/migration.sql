-- The send loops take a number's messages by createdAt, and two messages accepted within the same
-- millisecond (a Prisma DateTime is timestamp(3)) tied: the tie was broken by id, a random UUID,
-- so they could leave in either order. seq (an identity, in the order rows were inserted) breaks
-- it now, and the partial index of the queue carries it in place of id, so the claim stays an index
-- scan. Written by hand, as the Prisma schema language cannot describe a partial index. (No
-- semicolons in these comments: the migration runner splits the script on them.)
DROP INDEX IF EXISTS "Message_outbound_queue_idx";
CREATE INDEX "Message_outbound_queue_idx" ON "Message" ("instanceId", "createdAt", seq)
  WHERE direction = 'OUTBOUND' AND status IN ('QUEUED', 'WAITING', 'SENDING');
