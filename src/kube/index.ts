// The kube component's public face: what the controller and the webhook both need from the
// Kubernetes API, so neither imports the other. It depends on client-node and backoff only.
export {
  watchResource,
  InformerFailed,
  INFORMER_BACKOFF,
  LIST_PAGE_SIZE,
  type ListPage,
  type PagedList,
  type Watched,
  type WatchOptions,
} from "./informer.ts";
export { listOf, ListResponseInvalid } from "./list.ts";
export { deploymentForRollouts, podForDrift, withoutManagedFields, type Transform } from "./transform.ts";
export { describeKubeError, kubeErrorStatus } from "./errors.ts";
export { withSharedConnections } from "./connections.ts";
export { rawList, type RawListOptions } from "./raw-list.ts";
