import type { ChildProcess } from "node:child_process";

export const SANDBOX_CLIENT: { clientId: string; clientSecret: string; ssoKey: string; conversationProviderId: string };
export function freePort(): Promise<number>;
export function generatedSecrets(): { ENCRYPTION_KEY: string; NEXTAUTH_SECRET: string };
export type SandboxRuntime = {
  ghl: {
    url: string;
    ed25519PublicKeyPem: string;
    rsaPublicKeyPem: string;
    locations?: { id: string; name: string; companyId: string }[];
  };
  wa: { url: string; wsUrl: string; rootPublicKey: string; clientEnv?: Record<string, string> };
};
export type Stack = {
  appUrl: string;
  env: Record<string, string>;
  runtime: SandboxRuntime;
  children: ChildProcess[];
  workers: ChildProcess[];
  startWorker(i: number): ChildProcess;
  stop(): Promise<void>;
};
export function startStack(o: {
  appPort: number;
  ghlPort: number;
  waPort: number;
  workerPort: number;
  databaseUrl: string;
  redisUrl: string;
  secrets: Record<string, string>;
  mode: "dev" | "prod";
  extraEnv?: Record<string, string>;
  workers?: number;
  quiet?: boolean;
}): Promise<Stack>;
