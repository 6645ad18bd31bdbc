import type { Redis } from "ioredis";
import { leaseKey } from "@/lib/instances/lease-key";
import { deleteIfEquals, redisScript } from "@/lib/redis-script";

// One socket per instance across all workers (whatsapp.md: two sockets on one session fight with
// 440 and corrupt the ratchets). A lease is a Redis key holding the owner's worker id with a TTL:
// taken with SET NX PX, renewed and released only through compare-and-set scripts, so a worker
// that lost its lease (paused, partitioned) can never extend or delete the new owner's lease.

// A lease that is gone altogether (Redis failed over without persistence, or was emptied) is taken
// back by the worker still holding the socket, rather than closing every socket of the fleet at
// once and reconnecting them all: whoever takes a missing key first owns it, as with `acquire`.
const RENEW = redisScript(`local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
if not v then if redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then return 1 end end
return 0`);

export class Leases {
  constructor(
    private redis: Redis,
    readonly workerId: string,
    readonly ttlMs: number,
  ) {}

  /** True when this worker holds the lease now (fresh, or already its own, e.g. after a restart with the same id). */
  async acquire(instanceId: string): Promise<boolean> {
    const key = leaseKey(instanceId);
    if ((await this.redis.set(key, this.workerId, "PX", this.ttlMs, "NX")) === "OK") return true;
    return this.renew(instanceId);
  }

  async renew(instanceId: string): Promise<boolean> {
    return (await RENEW(this.redis, [leaseKey(instanceId)], [this.workerId, this.ttlMs])) === 1;
  }

  async release(instanceId: string): Promise<boolean> {
    return deleteIfEquals(this.redis, leaseKey(instanceId), this.workerId);
  }

  async owner(instanceId: string): Promise<string | null> {
    return this.redis.get(leaseKey(instanceId));
  }
}
