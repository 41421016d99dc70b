// Child process of bench/operator-scale.ts: an in-memory API server holding N labelled
// Deployments (with finished rollouts) and 5 Pods each, filled directly in its store. With
// argv[3] = "real" (the default) each object is a copy of one captured from the real
// kube-apiserver (bench/fixtures/, with kubectl's, kube-controller-manager's and the kubelet's
// managedFields and a full status); with "minimal", only the fields the reconcilers read.
import { readFileSync } from "node:fs";
import { startDevCluster } from "../src/devcluster/index.ts";
import { installCrds } from "../src/controller/index.ts";

const deployments = Number(process.argv[2] ?? 10_000);
const shape = process.argv[3] ?? "real";
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")) as Record<string, any>;
const realPod = fixture("real-pod.json");
const realDeployment = fixture("real-deployment.json");

/** A fresh copy of a captured object, renamed; JSON text per copy, as a watch decodes it. */
function copyOf(
  template: Record<string, any>,
  name: string,
  uid: string,
  labels: Record<string, string>,
): any {
  const o = JSON.parse(JSON.stringify(template)) as Record<string, any>;
  o["metadata"] = { ...o["metadata"], name, uid, labels, resourceVersion: undefined };
  return o;
}
const cluster = await startDevCluster({ historyLimit: 1000 });
await installCrds(cluster.kubeConfig);
const now = new Date().toISOString();
cluster.store.put(
  "/v1/namespaces",
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench", uid: "ns-bench" } },
  "ADDED",
);
for (let i = 0; i < deployments; i++) {
  const name = `serve-${i}`;
  const labels = { app: name, "modelchain.io/model-version": `model-${i % 50}` };
  const image = `registry.example/serve@sha256:${(i % 97).toString(16).padStart(64, "0")}`;
  const pinned = (o: any) => {
    o.spec.template.metadata.labels = labels;
    o.spec.selector = { matchLabels: { app: name } };
    o.spec.template.spec.containers[0].image = image;
    o.spec.replicas = 5;
    o.status = { ...o.status, replicas: 5, updatedReplicas: 5, readyReplicas: 5, availableReplicas: 5 };
    return o;
  };
  cluster.store.put(
    "apps/v1/deployments",
    shape === "real"
      ? pinned(copyOf(realDeployment, name, `d-${i}`, labels))
      : {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, namespace: "bench", uid: `d-${i}`, generation: 1, labels },
          spec: {
            replicas: 5,
            selector: { matchLabels: { app: name } },
            template: { metadata: { labels }, spec: { containers: [{ name: "server", image }] } },
          },
          status: {
            observedGeneration: 1,
            replicas: 5,
            updatedReplicas: 5,
            readyReplicas: 5,
            availableReplicas: 5,
          },
        },
    "ADDED",
  );
  for (let p = 0; p < 5; p++) {
    const real = () => {
      const o = copyOf(realPod, `${name}-${p}`, `p-${i}-${p}`, labels);
      o.spec.containers[0].image = image;
      o.status.containerStatuses[0].image = image;
      o.status.containerStatuses[0].imageID = image;
      return o;
    };
    cluster.store.put(
      "/v1/pods",
      shape === "real"
        ? real()
        : {
            apiVersion: "v1",
            kind: "Pod",
            metadata: {
              name: `${name}-${p}`,
              namespace: "bench",
              uid: `p-${i}-${p}`,
              labels,
              creationTimestamp: now,
            },
            spec: { containers: [{ name: "server", image }] },
            status: {
              phase: "Running",
              containerStatuses: [{ name: "server", image, imageID: image, ready: true, restartCount: 0 }],
            },
          },
      "ADDED",
    );
  }
}
process.stdout.write(`${cluster.url}\n`);
