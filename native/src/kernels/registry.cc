#include <functional>
#include <map>

#include "kernels/kernel.h"

namespace netdef {

std::unique_ptr<Kernel> makeKernel(const OpDesc& op) {
  static const std::map<std::string, std::function<std::unique_ptr<Kernel>(const OpDesc&)>> factories = {
      {"convolution", makeConvolution}, {"deconvolution", makeDeconvolution}, {"pooling", makePooling},
      {"fullyConnected", makeFullyConnected}, {"matrixMultiply", makeMatrixMultiply}, {"activation", makeActivation},
      {"unary", makeUnary}, {"elementWise", makeElementWise}, {"scale", makeScale}, {"select", makeSelect},
      {"parametricReLU", makeParametricReLU}, {"cast", makeCast}, {"pointwiseChain", makePointwiseChain}, {"quantize", makeQuantize},
      {"dequantize", makeDequantize}, {"identity", makeIdentity}, {"constant", makeConstant}, {"shuffle", makeShuffle},
      {"slice", makeSlice}, {"expand", makeExpand}, {"concatenation", makeConcatenation}, {"padding", makePadding}, {"gather", makeGather},
      {"resize", makeResize}, {"softMax", makeSoftMax}, {"logSoftMax", makeSoftMax}, {"reduce", makeReduce},
      {"topK", makeTopK}, {"normalization", makeNormalization}, {"lrn", makeLRN},
  };
  auto it = factories.find(op.kind);
  if (it == factories.end()) throw PlanError(op.name + ": layer kind '" + op.kind + "' is not known to this netdef's builtin engine");
  return it->second(op);
}

}  // namespace netdef
