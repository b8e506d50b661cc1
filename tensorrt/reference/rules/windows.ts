// Convolution, deconvolution and pooling: a window slid over the last 2 or 3 dimensions of an N, C, spatial… input.
import { requireRule, type LayerView } from "../layer.js";
import { FLOAT_TYPES, stridesOf, volume, type TensorSpec } from "../values.js";
import { needed, type LayerRule } from "./rule.js";

const PADDING = "M = I + B + A ; The image data plus any padding … DK = 1 + D * (F - 1) (NvInfer.h, enum PaddingMode)";

interface Window {
  kernel: number[];
  stride: number[];
  dilation: number[];
  pre: number[];
  post: number[];
  spatial: number[];
  out: number[];
}

function window(layer: LayerView, input: TensorSpec, kernel: number[], kind: "convolution" | "deconvolution" | "pooling"): Window {
  const k = kernel.length;
  requireRule(input.shape.length === k + 2, "For 2D images with a channel dimension, the last three dimensions are always {C,H,W}. For 3D images with a channel dimension, the last four dimensions are always {C,D,H,W}. (NvInfer.h, addInput)",
    `a ${k}-d ${kind} of a rank-${input.shape.length} input (expected rank ${k + 2}: N, C and ${k} spatial dimensions)`);
  requireRule(FLOAT_TYPES.has(input.type), "tensor data types are inferred from network input types and operator type specification (NvInfer.h, createNetworkV2)", `a ${kind} of a ${input.type} input`);
  const param = (method: string, fallback: number) => {
    const v = layer.setDims(method, new Array<number>(k).fill(fallback));
    requireRule(v.length === k, `Set the multi-dimension … of the ${kind}. (NvInfer.h, ${method}): one value per window dimension`, `${method} with ${v.length} dimensions for a ${k}-d window`);
    return v;
  };
  const stride = param("setStrideNd", 1), pre = param("setPrePadding", 0), post = param("setPostPadding", 0);
  const dilation = kind === "pooling" ? new Array<number>(k).fill(1) : param("setDilationNd", 1);
  requireRule(kernel.every((f) => f >= 1) && stride.every((s) => s >= 1) && dilation.every((d) => d >= 1), PADDING, `a window of ${kernel}, stride ${stride}, dilation ${dilation}: each must be ≥ 1`);
  const mode = layer.setText("setPaddingMode", "kEXPLICIT_ROUND_DOWN");
  const spatial = input.shape.slice(2);
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const I = spatial[i]!, S = stride[i]!, DK = 1 + dilation[i]! * (kernel[i]! - 1);
    if (mode === "kSAME_UPPER" || mode === "kSAME_LOWER") {
      const P = kind === "deconvolution" ? Math.max(DK - S, 0) : Math.max(Math.floor((I - 1) / S) * S + DK - I, 0);
      const small = Math.floor(P / 2);
      [pre[i], post[i]] = mode === "kSAME_UPPER" ? [small, P - small] : [P - small, small];
      out.push(kind === "deconvolution" ? Math.min(I * S, (I - 1) * S + DK) : Math.ceil(I / S));
      continue;
    }
    if (kind === "deconvolution") requireRule(pre[i]! >= 0 && post[i]! >= 0, "Negative padding is not supported. (NvInfer.h, IDeconvolutionLayer::setPrePadding)", `padding ${pre}/${post}: negative`);
    const M = I + pre[i]! + post[i]!;
    out.push(kind === "deconvolution" ? (I - 1) * S + DK - (pre[i]! + post[i]!)
      : mode === "kEXPLICIT_ROUND_UP" ? Math.ceil((M - DK) / S) + 1 : Math.floor((M - DK) / S) + 1);
  }
  requireRule(out.every((o) => o >= 1), PADDING, `an output of ${out} from an input of ${spatial}, window ${kernel}, stride ${stride}, padding ${pre}/${post}`);
  return { kernel, stride, dilation, pre, post, spatial, out };
}

function weightsRule(layer: LayerView, input: TensorSpec, expected: number, role: "kernelWeights" | "biasWeights", rule: string): void {
  const w = layer.weights(role);
  if (!w) return;
  requireRule(w.values.length === expected, rule, `${role} with ${w.values.length} values, expected ${expected}`);
  requireRule(w.type === input.type, "tensor data types are inferred from network input types and operator type specification (NvInfer.h, createNetworkV2)", `${role} of type ${w.type} for a ${input.type} input`);
}

function groupsOf(layer: LayerView, channels: number, maps: number): number {
  const groups = layer.setNumber("setNbGroups", 1);
  requireRule(groups >= 1 && channels % groups === 0 && maps % groups === 0, "The input tensor channels are divided into nbGroups groups, and a convolution is executed for each group (NvInfer.h, IConvolutionLayer::setNbGroups)",
    `${groups} groups for ${channels} input channels and ${maps} output maps`);
  return groups;
}

/** Calls `visit(position, inputOffset)` for each window tap of output position `o` inside the input (not the padding). */
function taps(w: Window, o: number[], visit: (tap: number, offset: number) => void): void {
  const inStrides = stridesOf(w.spatial), count = volume(w.kernel);
  for (let tap = 0; tap < count; tap++) {
    let rest = tap, offset = 0, inside = true;
    for (let d = w.kernel.length - 1; d >= 0; d--) {
      const f = rest % w.kernel[d]!;
      rest = Math.floor(rest / w.kernel[d]!);
      const at = o[d]! * w.stride[d]! - w.pre[d]! + f * w.dilation[d]!;
      if (at < 0 || at >= w.spatial[d]!) { inside = false; break; }
      offset += at * inStrides[d]!;
    }
    if (inside) visit(tap, offset);
  }
}

function positions(shape: readonly number[]): number[][] {
  const all: number[][] = [];
  for (let flat = 0; flat < volume(shape); flat++) {
    const index: number[] = [];
    for (let d = shape.length - 1, rest = flat; d >= 0; d--) { index.unshift(rest % shape[d]!); rest = Math.floor(rest / shape[d]!); }
    all.push(index);
  }
  return all;
}

const CONVOLUTION_SETTERS = ["setStrideNd", "setPrePadding", "setPostPadding", "setPaddingMode", "setDilationNd", "setNbGroups", "setName", "setInput"];

export const convolution: LayerRule = {
  setters: CONVOLUTION_SETTERS,
  infer(layer, inputs) {
    const input = needed(inputs, 0, layer), kernel = layer.dims("kernelSize"), maps = layer.number("nbOutputMaps");
    const w = window(layer, input, kernel, "convolution");
    const channels = input.shape[1]!, groups = groupsOf(layer, channels, maps);
    weightsRule(layer, input, maps * (channels / groups) * volume(kernel), "kernelWeights", "The weights are specified as a contiguous array in GKCRS order, where G is the number of groups, K the number of output feature maps, C the number of input channels (NvInfer.h, IConvolutionLayer::setKernelWeights)");
    weightsRule(layer, input, maps, "biasWeights", "The bias is applied per-channel, so the number of weights (if non-zero) must be equal to the number of output feature maps. (NvInfer.h, IConvolutionLayer::setBiasWeights)");
    return [{ type: input.type, shape: [input.shape[0]!, maps, ...w.out] }];
  },
  // Direct convolution: out[n, m, o] = bias[m] + Σ over the group's channels c and taps f of w[m, c, f] · x[n, c, o·S − B + f·D],
  // taps in the padding contributing nothing.
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), maps = layer.number("nbOutputMaps"), kernel = layer.dims("kernelSize");
    const w = window(layer, x, kernel, "convolution");
    const channels = x.shape[1]!, groups = layer.setNumber("setNbGroups", 1), perGroup = channels / groups, mapsPerGroup = maps / groups;
    const weights = layer.weights("kernelWeights")!.values, bias = layer.weights("biasWeights")?.values;
    const plane = volume(w.spatial), tapCount = volume(kernel), outPlane = volume(w.out);
    const offsets = tapOffsets(w);
    const out = new Float64Array(volume(output!.shape));
    for (let n = 0; n < x.shape[0]!; n++) for (let m = 0; m < maps; m++) {
      const o = (n * maps + m) * outPlane, g = Math.floor(m / mapsPerGroup);
      out.fill(bias ? bias[m]! : 0, o, o + outPlane);
      for (let c = 0; c < perGroup; c++) {
        const base = (n * channels + g * perGroup + c) * plane;
        for (let tap = 0; tap < tapCount; tap++) {
          const v = weights[(m * perGroup + c) * tapCount + tap]!, { outputs, inputs } = offsets[tap]!;
          for (let i = 0; i < outputs.length; i++) out[o + outputs[i]!] = out[o + outputs[i]!]! + v * x.data[base + inputs[i]!]!;
        }
      }
    }
    return [out];
  },
};

/** For each window tap, the output positions where it falls inside the input, and the input offset it reads there. */
function tapOffsets(w: Window): { outputs: Int32Array; inputs: Int32Array }[] {
  const pairs = Array.from({ length: volume(w.kernel) }, () => ({ outputs: [] as number[], inputs: [] as number[] }));
  positions(w.out).forEach((o, p) => taps(w, o, (tap, offset) => { pairs[tap]!.outputs.push(p); pairs[tap]!.inputs.push(offset); }));
  return pairs.map((t) => ({ outputs: Int32Array.from(t.outputs), inputs: Int32Array.from(t.inputs) }));
}

export const deconvolution: LayerRule = {
  setters: CONVOLUTION_SETTERS,
  infer(layer, inputs) {
    const input = needed(inputs, 0, layer), kernel = layer.dims("kernelSize"), maps = layer.number("nbOutputMaps");
    const w = window(layer, input, kernel, "deconvolution");
    const channels = input.shape[1]!, groups = groupsOf(layer, channels, maps);
    weightsRule(layer, input, channels * (maps / groups) * volume(kernel), "kernelWeights", "The weights are specified as a contiguous array in CKRS order, where C the number of input channels, K the number of output feature maps (NvInfer.h, IDeconvolutionLayer::setKernelWeights)");
    weightsRule(layer, input, maps, "biasWeights", "The bias is applied per-feature-map, so the number of weights (if non-zero) must be equal to the number of output feature maps. (NvInfer.h, IDeconvolutionLayer::setBiasWeights)");
    return [{ type: input.type, shape: [input.shape[0]!, maps, ...w.out] }];
  },
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), maps = layer.number("nbOutputMaps"), kernel = layer.dims("kernelSize");
    const w = window(layer, x, kernel, "deconvolution");
    const channels = x.shape[1]!, groups = layer.setNumber("setNbGroups", 1), perGroup = channels / groups, mapsPerGroup = maps / groups;
    const weights = layer.weights("kernelWeights")!.values, bias = layer.weights("biasWeights")?.values;
    const out = new Float64Array(volume(output!.shape)), outStrides = stridesOf(w.out), outPlane = volume(w.out), plane = volume(w.spatial), taps_ = volume(kernel);
    const inPositions = positions(w.spatial);
    for (let n = 0; n < x.shape[0]!; n++) for (let c = 0; c < channels; c++) {
      const g = Math.floor(c / perGroup);
      inPositions.forEach((i, p) => {
        const v = x.data[(n * channels + c) * plane + p]!;
        for (let tap = 0; tap < taps_; tap++) {
          let rest = tap, offset = 0, inside = true;
          for (let d = kernel.length - 1; d >= 0; d--) {
            const f = rest % kernel[d]!;
            rest = Math.floor(rest / kernel[d]!);
            const at = i[d]! * w.stride[d]! - w.pre[d]! + f * w.dilation[d]!;
            if (at < 0 || at >= w.out[d]!) { inside = false; break; }
            offset += at * outStrides[d]!;
          }
          if (!inside) continue;
          for (let k = 0; k < mapsPerGroup; k++) {
            const m = g * mapsPerGroup + k;
            const o = (n * maps + m) * outPlane + offset;
            out[o] = out[o]! + v * weights[(c * mapsPerGroup + k) * taps_ + tap]!;
          }
        }
      });
    }
    if (bias) for (let n = 0; n < x.shape[0]!; n++) for (let m = 0; m < maps; m++) for (let p = 0; p < outPlane; p++) { const o = (n * maps + m) * outPlane + p; out[o] = out[o]! + bias[m]!; }
    return [out];
  },
};

export const pooling: LayerRule = {
  setters: ["setStrideNd", "setPrePadding", "setPostPadding", "setPaddingMode", "setAverageCountExcludesPadding", "setBlendFactor", "setName"],
  infer(layer, inputs) {
    const input = needed(inputs, 0, layer), w = window(layer, input, layer.dims("windowSize"), "pooling");
    const blend = layer.setNumber("setBlendFactor", 0);
    requireRule(blend >= 0 && blend <= 1, "blendFactor is a user value in [0,1] with the default value of 0.0 (NvInfer.h, IPoolingLayer::setBlendFactor)", `blendFactor ${blend}`);
    return [{ type: input.type, shape: [...input.shape.slice(0, 2), ...w.out] }];
  },
  execute(layer, inputs, [output]) {
    const x = needed(inputs, 0, layer), w = window(layer, x, layer.dims("windowSize"), "pooling");
    const type = layer.text("type"), blend = layer.setNumber("setBlendFactor", 0);
    const exclude = layer.setBoolean("setAverageCountExcludesPadding", true);
    const planes = x.shape[0]! * x.shape[1]!, plane = volume(w.spatial), outPlane = volume(w.out), full = volume(w.kernel);
    const out = new Float64Array(volume(output!.shape)), outPositions = positions(w.out);
    for (let p = 0; p < planes; p++) outPositions.forEach((o, q) => {
      let max = -Infinity, sum = 0, inside = 0;
      taps(w, o, (_, offset) => { const v = x.data[p * plane + offset]!; max = Math.max(max, v); sum += v; inside++; });
      // "the denominator is the overlap between the pooling window and the padded input" unless excluded: the window
      // clipped to input + explicit padding.
      let padded = 1;
      for (let d = 0; d < w.kernel.length; d++) {
        const start = o[d]! * w.stride[d]! - w.pre[d]!, end = Math.min(start + w.kernel[d]!, w.spatial[d]! + w.post[d]!);
        padded *= end - Math.max(start, -w.pre[d]!);
      }
      const average = sum / (exclude ? inside : Math.min(padded, full));
      out[p * outPlane + q] = type === "kMAX" ? max : type === "kAVERAGE" ? average : (1 - blend) * max + blend * average;
    });
    return [out];
  },
};
