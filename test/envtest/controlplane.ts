// A real Kubernetes control plane for tests (controller-runtime's envtest convention: the
// binaries come from KUBEBUILDER_ASSETS or the cache `make envtest-assets` fills, see assets.ts):
//
//   const cp = await startControlPlane({ controllerManager: true });
//   cp.kubeConfig           // @kubernetes/client-node KubeConfig for the admin user
//   cp.kubeconfigPath       // the same, as a file (for child processes / kubectl)
//   cp.apiServerUrl, cp.caPem, cp.token
//   await cp.stop()         // ends every process by its own pid, removes the temp dir
//
// etcd and kube-apiserver (and optionally kube-controller-manager) run on free loopback
// ports from the binaries envtestAssets() finds; the CRDs in crds/ are installed and waited
// for until Established. One control plane per test file (beforeAll/afterAll).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import {
  ApiextensionsV1Api,
  KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { envtestAssets } from "./assets.ts";
import { freePort, startProcess, stopProcess, waitFor } from "./processes.ts";

export interface ControlPlane {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  apiServerUrl: string;
  caPem: string;
  token: string;
  dir: string;
  etcdUrl: string;
  /** Stops kube-apiserver; `startApiServer()` brings it back on the same port, certs and etcd. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const CRD_DIR = join(import.meta.dirname, "..", "..", "crds");

function get(url: string, ca: string | undefined, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith("https") ? httpsRequest : httpRequest;
    const req = send(
      url,
      { ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

async function startEtcd(bin: string, dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const log = join(dir, "etcd.log");
  const proc = startProcess(
    join(bin, "etcd"),
    [
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    log,
  );
  await waitFor(
    "etcd",
    async () => (await get(`${url}/health`, undefined)).status === 200,
    30_000,
    () => tail(log),
  );
  return { proc, url };
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

interface ApiServer {
  proc: ChildProcess;
  url: string;
  caPem: string;
  token: string;
}

function writeCredentials(dir: string): string {
  const token = randomBytes(24).toString("hex");
  writeFileSync(join(dir, "tokens.csv"), `${token},admin,admin-uid,"system:masters"\n`);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  return token;
}

async function startApiServer(
  bin: string,
  dir: string,
  etcdUrl: string,
  port: number,
  token: string,
  extraArgs: string[],
): Promise<ApiServer> {
  const log = join(dir, "kube-apiserver.log");
  const proc = startProcess(
    join(bin, "kube-apiserver"),
    [
      `--etcd-servers=${etcdUrl}`,
      "--advertise-address=127.0.0.1",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "certs")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--disable-admission-plugins=ServiceAccount",
      "--allow-privileged=true",
      ...extraArgs,
    ],
    log,
  );
  const url = `https://127.0.0.1:${port}`;
  let caPem = "";
  await waitFor(
    "kube-apiserver",
    async () => {
      caPem = readFileSync(join(dir, "certs", "apiserver.crt"), "utf8");
      return (await get(`${url}/readyz`, caPem, token)).status === 200;
    },
    90_000,
    () => tail(log),
  );
  return { proc, url, caPem, token };
}

function writeKubeconfig(dir: string, api: ApiServer): { kubeConfig: KubeConfig; path: string } {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: "envtest",
        server: api.url,
        caData: Buffer.from(api.caPem).toString("base64"),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: "admin", token: api.token }],
    contexts: [{ name: "envtest", cluster: "envtest", user: "admin", namespace: "default" }],
    currentContext: "envtest",
  });
  const path = join(dir, "kubeconfig");
  writeFileSync(path, kubeConfig.exportConfig());
  return { kubeConfig, path };
}

async function startControllerManager(
  bin: string,
  dir: string,
  kubeconfigPath: string,
): Promise<ChildProcess> {
  const log = join(dir, "kube-controller-manager.log");
  const port = await freePort();
  const proc = startProcess(
    join(bin, "kube-controller-manager"),
    [
      `--kubeconfig=${kubeconfigPath}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      "--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller",
      "--concurrent-deployment-syncs=2",
    ],
    log,
  );
  return proc;
}

/** Applies every CRD in crds/ and waits until each is Established. */
export async function installCrds(kubeConfig: KubeConfig): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const files = readdirSync(CRD_DIR).filter((f) => f.endsWith(".yaml"));
  const names: string[] = [];
  for (const file of files) {
    // loadYaml maps JSON names to the client's model (enum → _enum, default → _default…);
    // a plain parsed object would silently lose those keywords on serialisation.
    const crd = loadYaml<V1CustomResourceDefinition>(readFileSync(join(CRD_DIR, file), "utf8"));
    await api.createCustomResourceDefinition({ body: crd });
    names.push(crd.metadata?.name ?? file);
  }
  for (const name of names) {
    await waitFor(
      `CRD ${name}`,
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return (crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
      },
      30_000,
    );
  }
  return names;
}

export async function startControlPlane(
  opts: { controllerManager?: boolean; crds?: boolean; apiServerArgs?: string[] } = {},
): Promise<ControlPlane> {
  const assets = envtestAssets();
  if ("missing" in assets) throw new Error(assets.missing);
  const dir = mkdtempSync(join(tmpdir(), "modelchain-envtest-"));
  const procs: ChildProcess[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await stopProcess(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd(assets.dir, dir);
    procs.push(etcd.proc);
    const port = await freePort();
    const token = writeCredentials(dir);
    let api = await startApiServer(assets.dir, dir, etcd.url, port, token, opts.apiServerArgs ?? []);
    procs.push(api.proc);
    const { kubeConfig, path } = writeKubeconfig(dir, api);
    if (opts.controllerManager) procs.push(await startControllerManager(assets.dir, dir, path));
    if (opts.crds ?? true) await installCrds(kubeConfig);
    const stopApiServer = async () => {
      await stopProcess(api.proc);
    };
    const restartApiServer = async () => {
      api = await startApiServer(assets.dir, dir, etcd.url, port, token, opts.apiServerArgs ?? []);
      procs.push(api.proc);
    };
    return {
      kubeConfig,
      kubeconfigPath: path,
      apiServerUrl: api.url,
      caPem: api.caPem,
      token: api.token,
      dir,
      etcdUrl: etcd.url,
      stopApiServer,
      startApiServer: restartApiServer,
      stop,
    };
  } catch (e: unknown) {
    await stop();
    throw e;
  }
}
