// Child process of bench/operator-scale.ts: an in-memory API server holding N labelled
// Deployments (with finished rollouts) and 5 Pods each, filled directly in its store.
import { startDevCluster } from "../src/devcluster/index.ts";
import { installCrds } from "../src/controller/index.ts";

const deployments = Number(process.argv[2] ?? 10_000);
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
  cluster.store.put(
    "apps/v1/deployments",
    {
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
    cluster.store.put(
      "/v1/pods",
      {
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
