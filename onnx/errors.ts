/** A network that cannot be exported faithfully: names the layer, its kind and what ONNX lacks. */
export class OnnxExportError extends Error {
  override readonly name = "OnnxExportError";
}
