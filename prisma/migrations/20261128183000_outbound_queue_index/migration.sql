-- The send loops' queue: each number's outbound messages still to send, oldest first. Partial, so
-- it holds only the few active rows however long a number's history grows. Before it, each claim
-- combined two bitmap scans (the number's whole history, and every active-or-dead entry of the
-- status index), which grew with each sent message until autovacuum ran (tests/bench/RESULTS.md).
-- Written by hand: Prisma's schema language cannot describe a partial index (see schema.prisma).
CREATE INDEX "Message_outbound_queue_idx" ON "Message" ("instanceId", "createdAt", id)
  WHERE direction = 'OUTBOUND' AND status IN ('QUEUED', 'WAITING', 'SENDING');
