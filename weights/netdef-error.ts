/**
 * What went wrong, for code that handles errors by kind: every error netdef throws is a NetdefError with one of these.
 */
export type NetdefErrorCode =
  | "network"              // a network definition (NetworkError)
  | "weight_file"          // a weight file that cannot be read as it claims to be
  | "build"                // a build that cannot be done as asked
  | "build_cancelled"      // a build stopped through its AbortSignal
  | "refit"                // a refit that cannot be applied
  | "plan"                 // a plan that cannot be trusted or loaded here
  | "execution"            // an execution request that cannot be run
  | "disposed"             // an engine or context used after dispose()
  | "lowering"             // a network the TensorRT lowering cannot express
  | "tensorrt"             // what TensorRT itself refused (build, load, execution, refit)
  | "tensorrt_unavailable" // the addon was built without TensorRT
  | "backend_unavailable"  // a comparison's peer (onnxruntime-node) is not installed
  | "addon_unavailable"    // the native addon is neither prebuilt for this platform nor built from source
  | "tensorrt_rule"        // what TensorRT's headers say it would refuse, found by the TensorRT reference
  | "onnx_export"          // a network with no faithful ONNX form
  | "option"               // an option of the wrong kind or out of range
  | "usage";               // the command line used wrongly

/** Where an error belongs: the layer it is about and the user's line that added that layer. */
export interface ErrorPlace {
  readonly layer?: string;
  /** `file:line:column` of the user's call that added the layer. */
  readonly callSite?: string;
}

/**
 * The base of every error netdef throws: a `code` to branch on and, for errors about a layer, the layer and the
 * user's call site (also at the end of the message).
 * ```ts
 * try { await buildEngine(net); } catch (e) { if (e instanceof NetdefError && e.code === "build") console.error(e.layer, e.callSite); }
 * ```
 */
export abstract class NetdefError extends Error {
  abstract readonly code: NetdefErrorCode;
  readonly layer: string | undefined;
  readonly callSite: string | undefined;

  constructor(message: string, place: ErrorPlace = {}) {
    super(place.callSite && !message.includes(`(${place.callSite})`) ? `${message} (${place.callSite})` : message);
    this.layer = place.layer;
    this.callSite = place.callSite;
  }
}

/** An option of the wrong kind or out of its range, named with what it must be. */
export class OptionError extends NetdefError {
  override readonly name = "OptionError";
  readonly code = "option";
}
