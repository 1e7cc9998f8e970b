/**
 * The `none` runtime: the wrapper runs directly on the host, confined only
 * by its Deno permission flags. Used where no container runtime exists.
 *
 * @module
 */
import type { Capabilities, ContainerDriver, LaunchSpec } from "./driver.ts";

/** Runs the wrapper without a container. */
export class NoneDriver implements ContainerDriver {
  /** @inheritdoc */
  readonly name = "none" as const;
  /** @inheritdoc */
  readonly binary = undefined;
  /** @inheritdoc */
  readonly capabilities: Capabilities = {
    pidNamespace: false,
    networkNone: false,
    rootless: true,
    relocates: false,
  };

  /** The argv unchanged: paths in `spec` are host paths. */
  command(spec: LaunchSpec): string[] {
    return [...spec.argv];
  }
}
