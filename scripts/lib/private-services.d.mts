export type PrivatePostgres = {
  url: string;
  port: number;
  dir: string;
  log: string;
  start(): Promise<void>;
  stop(mode?: "fast" | "immediate"): void;
};
export type PrivateRedis = {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  pid(): number | undefined;
};
export function startPrivatePostgres(o: { dir: string; port: number }): Promise<PrivatePostgres>;
export function startPrivateRedis(o: { dir: string; port: number }): Promise<PrivateRedis>;
