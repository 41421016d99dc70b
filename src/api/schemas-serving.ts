// The parts of a ModelDeployment that shape the serving Pod and its Service. Pod and container
// fields use the upstream Kubernetes shapes (kube-fields.ts); the rules here (CEL, checked by the
// API server even without the webhook) keep them off the names the operator's own Pod shaping
// uses, and serving-shape.ts checks the same, and what CEL cannot see, in code.
import { containerField, podSpecField } from "./kube-fields.ts";
import { arr, DNS_LABEL_PATTERN, int, obj, str, stringMap, type Schema } from "./schema-dsl.ts";
import { ARTIFACT_FILES_VOLUME, CONFIG_VOLUME_PREFIX, MODEL_VOLUME } from "./serving-names.ts";

const dnsName = (description: string): Schema => str({ minLength: 1, maxLength: 253, description });
const notReserved = `self.all(v, v.name != '${MODEL_VOLUME}' && v.name != '${ARTIFACT_FILES_VOLUME}' && !v.name.startsWith('${CONFIG_VOLUME_PREFIX}'))`;
/** Bounded so the CEL rules over them stay within the API server's cost budget. */
const MAX_VOLUMES = 64;

const probe = (which: "livenessProbe" | "readinessProbe" | "startupProbe", what: string): Schema =>
  containerField(which, {
    description: `${what} Checked against the server container, as the Pod's ${which}.`,
  });

export const servingSchema: Schema = obj(
  {
    args: arr(str(), { description: "Arguments of the server container (its image's entrypoint is kept)." }),
    env: containerField("env", {
      description:
        "Environment of the server container. `valueFrom` takes a value from a Secret, ConfigMap or the Pod's own fields; only the reference is recorded, never the value (and a literal `value` is recorded as its SHA-256). MODEL_PATH is set by the operator.",
    }),
    resources: containerField("resources", {
      description:
        "Compute resources of the server container, extended resources included (`nvidia.com/gpu: 1`).",
    }),
    configMapRefs: arr(
      obj({ name: dnsName("A ConfigMap in the namespace.") }, ["name"], {
        description: "A ConfigMap mounted read-only at /etc/modelchain/<name>.",
      }),
      {
        description:
          "ConfigMaps mounted into the server container; their content is part of the recorded config hash.",
      },
    ),
    port: int({
      minimum: 1,
      maximum: 65535,
      description: "The server's port, exposed as the container port named `http`.",
    }),
    modelPath: str({
      pattern: "^/([^/]+(/[^/]+)*)?$",
      maxLength: 1024,
      description:
        "Where the model is mounted in the server container (also given to it as MODEL_PATH); /models unless set.",
    }),
    volumeMounts: containerField("volumeMounts", {
      maxItems: MAX_VOLUMES,
      description:
        "Mounts of spec.podTemplate.volumes into the server container, besides the model and the ConfigMaps; not at or under modelPath or /etc/modelchain.",
      "x-kubernetes-validations": [
        {
          rule: notReserved,
          message: `volumeMounts may not name "${MODEL_VOLUME}", "${ARTIFACT_FILES_VOLUME}" or "${CONFIG_VOLUME_PREFIX}*": those are the operator's volumes (the model is mounted at spec.serving.modelPath)`,
        },
      ],
    }),
    livenessProbe: probe("livenessProbe", "Restarts the server container when it fails."),
    readinessProbe: probe("readinessProbe", "Keeps the Pod out of the Service until it passes."),
    startupProbe: probe(
      "startupProbe",
      "Holds the other probes back until it passes (a large model can take minutes to load).",
    ),
    securityContext: containerField("securityContext", {
      description: "Security options of the server container (over the Pod's).",
    }),
  },
  [],
  { description: "The inference server container." },
);

export const podTemplateSchema: Schema = obj(
  {
    labels: { ...stringMap(), description: "Labels of the Pods (the operator's selector labels win)." },
    annotations: { ...stringMap(), description: "Annotations of the Pods." },
    nodeSelector: podSpecField("nodeSelector"),
    serviceAccountName: str({ description: "The ServiceAccount the Pods run as." }),
    priorityClassName: str({ description: "The PriorityClass of the Pods." }),
    tolerations: podSpecField("tolerations"),
    affinity: podSpecField("affinity"),
    topologySpreadConstraints: podSpecField("topologySpreadConstraints"),
    runtimeClassName: podSpecField("runtimeClassName"),
    securityContext: podSpecField("securityContext"),
    volumes: podSpecField("volumes", {
      maxItems: MAX_VOLUMES,
      description:
        'Volumes of the Pod besides the model and the ConfigMaps, mounted with spec.serving.volumeMounts. The names "model", "artifact-files" and "config-*" are the operator\'s.',
      "x-kubernetes-validations": [
        {
          rule: notReserved,
          message: `volume names "${MODEL_VOLUME}", "${ARTIFACT_FILES_VOLUME}" and "${CONFIG_VOLUME_PREFIX}*" are the operator's (the model artifact, its file list and the ConfigMaps)`,
        },
      ],
    }),
  },
  [],
  {
    description:
      "What the serving Pods get besides the server container. Every field is part of the config hash.",
  },
);

const targetPortRule = {
  rule: `type(self) == int ? self >= 1 && self <= 65535 : self.matches('${DNS_LABEL_PATTERN}') && size(self) <= 15`,
  message: "targetPort must be a port number (1-65535) or a container port name",
};

export const serviceSchema: Schema = obj(
  {
    port: int({ minimum: 1, maximum: 65535, description: "The Service's port." }),
    targetPort: {
      "x-kubernetes-int-or-string": true,
      anyOf: [{ type: "integer" }, { type: "string" }],
      "x-kubernetes-validations": [targetPortRule],
      description:
        "The Pods' port the Service sends to, by number or name; the container port `http` (spec.serving.port) when that is set, else `port`.",
    },
    type: str({
      enum: ["ClusterIP", "NodePort", "LoadBalancer"],
      description: "How the Service is exposed; ClusterIP unless set.",
    }),
  },
  ["port"],
  {
    description:
      "A Service in front of the serving Pods, named like the ModelDeployment and owned by it: removed with it, put back when edited or deleted, deleted when this field is removed.",
  },
);
