export const root: string;
export const dataDir: string;
export function ensureDatabase(serverUrl: string, dbName: string, o?: { fresh?: boolean }): Promise<string>;
export function waitForHttp(url: string, o?: { timeoutMs?: number; ok?: (s: number) => boolean }): Promise<Response>;
export function sleep(ms: number): Promise<void>;
