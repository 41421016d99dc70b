// Loaded with `node --import` before a CLI run: any import of the Kubernetes client fails the run,
// for commands that must never need it (it is most of a cold start).
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "@kubernetes/client-node" || specifier.startsWith("@kubernetes/client-node/"))
      throw new Error(`refused to load ${specifier} (imported by ${context.parentURL ?? "?"})`);
    return nextResolve(specifier, context);
  },
});
