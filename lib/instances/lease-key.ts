// Which worker owns an instance's socket (worker/whatsapp/leases.ts). Shared with the app only
// to ask "is someone holding it?"; the app never takes or changes a lease.
export const leaseKey = (instanceId: string) => `gw:lease:${instanceId}`;
