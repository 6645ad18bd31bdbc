import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

// deploy/k8s/ against the Kubernetes schemas (kubernetes-models validates each object with the
// OpenAPI schema of its kind), and against what the product needs from its orchestrator.
const dir = path.resolve(import.meta.dirname, "../../deploy/k8s");
const KINDS: Record<string, new (o: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
};
type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
const objects: { file: string; o: Obj }[] = (readdirSync(dir, { recursive: true }) as string[])
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(dir, file), "utf8")).map((d) => ({ file, o: d.toJS() as Obj })),
  );
const one = (kind: string, name: string) => objects.find((x) => x.o.kind === kind && x.o.metadata.name === name)?.o;

describe("deploy/k8s", () => {
  it("every object is valid for its kind", () => {
    expect(objects.length).toBeGreaterThanOrEqual(7);
    for (const { file, o } of objects) {
      const Model = KINDS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${file}: ${o.apiVersion} ${o.kind} has no model here`).toBeDefined();
      expect(() => new Model(o as never).validate(), `${file}: ${o.kind} ${o.metadata?.name}`).not.toThrow();
    }
  });

  it("the validator does refuse a broken object", () => {
    const bad = structuredClone(one("Deployment", "ghl-wa-worker")!);
    bad.spec.replicas = "two";
    expect(() => new Deployment(bad as never).validate()).toThrow();
  });

  it("probes hit the endpoints the processes serve, workers drain before they are killed, one at a time", () => {
    const app = one("Deployment", "ghl-wa-app")!.spec.template.spec.containers[0];
    expect(app.readinessProbe.httpGet.path).toBe("/api/ready");
    expect(app.livenessProbe.httpGet.path).toBe("/api/health");
    const w = one("Deployment", "ghl-wa-worker")!.spec;
    const wc = w.template.spec.containers[0];
    expect(wc.command).toEqual(["node", "--import", "tsx", "worker/main.ts"]);
    expect([wc.readinessProbe.httpGet.path, wc.livenessProbe.httpGet.path]).toEqual(["/ready", "/health"]);
    expect(wc.ports[0].containerPort).toBe(Number(one("ConfigMap", "ghl-wa-config")!.data!.WORKER_HTTP_PORT));
    expect(w.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    expect(w.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(one("PodDisruptionBudget", "ghl-wa-worker")!.spec.maxUnavailable).toBe(1);
    // every secret the app requires comes from the Secret, never the ConfigMap
    const cm = one("ConfigMap", "ghl-wa-config") as unknown as { data: Record<string, string> };
    for (const k of [
      "DATABASE_URL",
      "REDIS_URL",
      "ENCRYPTION_KEY",
      "NEXTAUTH_SECRET",
      "GHL_CLIENT_SECRET",
      "GHL_SSO_KEY",
    ])
      expect(cm.data[k], k).toBeUndefined();
  });
});
