// The controller's informers: the shared kube informer (restarted with backoff on errors other
// than 410 Gone), with each restart logged.
import type { KubernetesObject, KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { BackoffPolicy } from "../backoff/index.ts";
import {
  watchResource as watchKube,
  withoutManagedFields,
  type PagedList,
  type Transform,
  type Watched,
} from "../kube/index.ts";

export type { Watched } from "../kube/index.ts";

export interface WatchOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  path: string;
  /** Asked for one page at a time (see PagedList). */
  list: PagedList<T>;
  labelSelector?: string;
  /** What the cache keeps of each object; by default everything but `managedFields`. */
  transform?: Transform<T>;
  onChange(object: T): void;
  onDelete(object: T): void;
  log: Logger;
  backoff?: BackoffPolicy;
}

export function watchResource<T extends KubernetesObject>(opts: WatchOptions<T>): Watched<T> {
  const { name, log, ...rest } = opts;
  const logger = log.child({ informer: name });
  return watchKube({
    ...rest,
    transform: opts.transform ?? withoutManagedFields,
    resource: name,
    onError: (error, restartInMs) =>
      logger.warn({ err: error.message, restartInMs }, "informer stopped; restarting"),
  });
}
