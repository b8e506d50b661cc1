import { NetdefError } from "../weights/netdef-error.js";

/** A network that cannot be exported faithfully: names the layer, its kind and what ONNX lacks. */
export class OnnxExportError extends NetdefError {
  override readonly name = "OnnxExportError";
  readonly code = "onnx_export";
}
