// Public entry of runtime/: the workload port, the process runtime, and the Docker runtime behind
// an async factory. dockerode is loaded by `createDockerRuntime` only, so the orbital agent, which
// runs the process runtime, never loads it (ARCHITECTURE: "loads only what its configuration uses").
import type { DockerRuntime, DockerRuntimeOptions } from './docker-runtime.ts';

export type {
  CapturedOutput,
  LimitEnforcement,
  RuntimeCapabilities,
  RuntimeKind,
  UsageSource,
  WorkloadEnforcement,
  WorkloadLimits,
  WorkloadLogChunk,
  WorkloadOutcome,
  WorkloadResult,
  WorkloadRuntime,
  WorkloadSpec,
  WorkloadStream,
  WorkloadUsage,
} from './workload-runtime.ts';
export { checkWorkloadSpec, MEMORY_BYTES_MIN, OUTPUT_BYTES_MAX, TIMEOUT_MS_MAX } from './workload-runtime.ts';
export type { ProcessRuntimeOptions } from './process-runtime.ts';
export { ProcessRuntime } from './process-runtime.ts';
export type { DockerRuntime, DockerRuntimeOptions } from './docker-runtime.ts';
export { DOCKER_OWNER_PATTERN, dockerOwnerOf } from './docker-owner.ts';

/** The Docker runtime, loading dockerode on first use. Call `start()` on it before `run`. */
export async function createDockerRuntime(options: DockerRuntimeOptions): Promise<DockerRuntime> {
  const { DockerRuntime: Implementation } = await import('./docker-runtime.ts');
  return new Implementation(options);
}
