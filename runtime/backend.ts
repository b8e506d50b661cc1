import type { NativeInput, NativeResult } from "../native/addon.js";
import type { IOTensor } from "../plan/header.js";

/** The backends an engine runs on. */
export type Backend = "builtin" | "tensorrt";

/** What a backend gives Engine and ExecutionContext, which hold everything the two have in common. */
export interface EngineBackend {
  readonly kind: Backend;
  readonly network: string;
  readonly inputs: readonly IOTensor[];
  readonly outputs: readonly IOTensor[];
  /** Each layer's call site, by name, for errors about a layer. */
  readonly callSites: ReadonlyMap<string, string | undefined>;
  serialize(): Uint8Array;
  createContext(): BackendContext;
  dispose(): void;
}

/** One execution context of a backend: inputs checked and converted by the ExecutionContext. */
export interface BackendContext {
  execute(inputs: NativeInput[], profile: boolean): Promise<NativeResult>;
  executeSync(inputs: NativeInput[], profile: boolean): NativeResult;
  dispose(): void;
}
