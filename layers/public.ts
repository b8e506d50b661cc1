/**
 * "netdef/layers": every layer kind's definition in LAYERS, by the name the IR records (`LAYERS.convolution.infer`),
 * with the parameter types and the lists of allowed values. The definitions are not exported one by one, so that no
 * name here means something else at the root ("quantize" there quantizes a network).
 */
export { ACTIVATION_DEFAULTS, ACTIVATION_TYPES } from "./activation.js";
export { ELEMENT_WISE_OPS } from "./element-wise.js";
export { LAYERS, LAYER_KINDS, type LayerKind, type LayerParams, type ResolvedParams } from "./kinds.js";
export { UNARY_OPS } from "./unary.js";
export { PADDING_MODES } from "./window.js";
export type * from "./param-types.js";
