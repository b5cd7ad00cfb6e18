/**
 * The onnxruntime session options of `dlm run` and `dlm train`
 * (`--optimize`, `--no-cache`), read from the command line and the
 * environment. Loaded only by the commands that create sessions.
 */
import { type CacheConfig, cacheConfigFromEnv } from "../runtime/ort/cache.ts";
import { isOptimizeLevel, OPTIMIZE_LEVELS, type OptimizeLevel } from "../runtime/ort/optimize.ts";
import { type Parsed, UsageError } from "./command.ts";
import { diag } from "../compiler/diagnostics.ts";

/** `--optimize LEVEL` and the cache (none with `--no-cache` or without a home folder). */
export interface SessionArgs {
  optimize?: OptimizeLevel;
  cache?: CacheConfig;
}

/** The session options of a command line. A bad level is a usage error. */
export function sessionArgsOf(args: Parsed): SessionArgs {
  const level = args.opts.optimize as string | undefined;
  if (level !== undefined && !isOptimizeLevel(level)) {
    throw new UsageError(
      ...diag("DLM0501", "--optimize", `one of ${OPTIMIZE_LEVELS.join(", ")}`, `'${level}'`),
    );
  }
  return {
    optimize: level as OptimizeLevel | undefined,
    cache: args.opts["no-cache"]
      ? undefined
      : cacheConfigFromEnv(args.opts["cache-dir"] as string | undefined),
  };
}
