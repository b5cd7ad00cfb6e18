/**
 * The kernel table: ONNX operator type (prefixed by "domain::" outside the
 * default domain) to its reference kernel, one file per operator. It is
 * keyed as the compiler's op table (`compiler/ops/table.ts`) is, and
 * `compiler/ops/op_facets_test.ts` checks that every op of that table has a
 * kernel here; it also holds ONNX operators the compiler never emits, so
 * that the interpreter runs the ONNX conformance cases. Adding a kernel: its
 * file, its import and its entry below.
 */
import type { Kernel } from "../kernel.ts";
import { abs } from "./abs.ts";
import { acos } from "./acos.ts";
import { acosh } from "./acosh.ts";
import { adagrad } from "./adagrad.ts";
import { adam } from "./adam.ts";
import { add } from "./add.ts";
import { and } from "./and.ts";
import { argMax } from "./arg_max.ts";
import { argMin } from "./arg_min.ts";
import { asin } from "./asin.ts";
import { asinh } from "./asinh.ts";
import { atan } from "./atan.ts";
import { atanh } from "./atanh.ts";
import { averagePool } from "./average_pool.ts";
import { batchNormalization } from "./batch_normalization.ts";
import { bernoulli } from "./bernoulli.ts";
import { bitShift } from "./bit_shift.ts";
import { blackmanWindow } from "./blackman_window.ts";
import { cast } from "./cast.ts";
import { castLike } from "./cast_like.ts";
import { ceil } from "./ceil.ts";
import { celu } from "./celu.ts";
import { clip } from "./clip.ts";
import { compress } from "./compress.ts";
import { concat } from "./concat.ts";
import { constant } from "./constant.ts";
import { constantOfShape } from "./constant_of_shape.ts";
import { conv } from "./conv.ts";
import { convInteger } from "./conv_integer.ts";
import { convTranspose } from "./conv_transpose.ts";
import { cos } from "./cos.ts";
import { cosh } from "./cosh.ts";
import { cumSum } from "./cum_sum.ts";
import { depthToSpace } from "./depth_to_space.ts";
import { dequantizeLinear } from "./dequantize_linear.ts";
import { det } from "./det.ts";
import { dftKernel } from "./dft.ts";
import { div } from "./div.ts";
import { dropout } from "./dropout.ts";
import { dynamicQuantizeLinear } from "./dynamic_quantize_linear.ts";
import { einsum } from "./einsum.ts";
import { elu } from "./elu.ts";
import { equal } from "./equal.ts";
import { erfKernel } from "./erf.ts";
import { exp } from "./exp.ts";
import { expand } from "./expand.ts";
import { eyeLike } from "./eye_like.ts";
import { flatten } from "./flatten.ts";
import { floor } from "./floor.ts";
import { gather } from "./gather.ts";
import { gatherElements } from "./gather_elements.ts";
import { gatherND } from "./gather_nd.ts";
import { gemm } from "./gemm.ts";
import { globalAveragePool } from "./global_average_pool.ts";
import { globalLpPool } from "./global_lp_pool.ts";
import { globalMaxPool } from "./global_max_pool.ts";
import { greater } from "./greater.ts";
import { greaterOrEqual } from "./greater_or_equal.ts";
import { gridSample } from "./grid_sample.ts";
import { gru } from "./gru.ts";
import { hammingWindow } from "./hamming_window.ts";
import { hannWindow } from "./hann_window.ts";
import { hardSigmoid } from "./hard_sigmoid.ts";
import { hardSwish } from "./hard_swish.ts";
import { hardmax } from "./hardmax.ts";
import { identity } from "./identity.ts";
import { ifKernel } from "./if.ts";
import { instanceNormalization } from "./instance_normalization.ts";
import { isInf } from "./is_inf.ts";
import { isNaN } from "./is_nan.ts";
import { layerNormalization } from "./layer_normalization.ts";
import { leakyRelu } from "./leaky_relu.ts";
import { less } from "./less.ts";
import { lessOrEqual } from "./less_or_equal.ts";
import { log } from "./log.ts";
import { logSoftmax } from "./log_softmax.ts";
import { loop } from "./loop.ts";
import { lpNormalization } from "./lp_normalization.ts";
import { lpPool } from "./lp_pool.ts";
import { lrn } from "./lrn.ts";
import { lstm } from "./lstm.ts";
import { matMul } from "./mat_mul.ts";
import { matMulInteger } from "./mat_mul_integer.ts";
import { max } from "./max.ts";
import { maxPool } from "./max_pool.ts";
import { maxUnpool } from "./max_unpool.ts";
import { mean } from "./mean.ts";
import { meanVarianceNormalization } from "./mean_variance_normalization.ts";
import { melWeightMatrix } from "./mel_weight_matrix.ts";
import { min } from "./min.ts";
import { mish } from "./mish.ts";
import { mod } from "./modulo.ts";
import { momentum } from "./momentum.ts";
import { mul } from "./mul.ts";
import { neg } from "./neg.ts";
import { negativeLogLikelihoodLoss } from "./negative_log_likelihood_loss.ts";
import { nonMaxSuppression } from "./non_max_suppression.ts";
import { nonZero } from "./non_zero.ts";
import { not } from "./not.ts";
import { oneHot } from "./one_hot.ts";
import { or } from "./or.ts";
import { pad } from "./pad.ts";
import { pow } from "./pow.ts";
import { prelu } from "./prelu.ts";
import { qLinearConv } from "./q_linear_conv.ts";
import { qLinearMatMul } from "./q_linear_mat_mul.ts";
import { quantizeLinear } from "./quantize_linear.ts";
import { randomNormal } from "./random_normal.ts";
import { randomNormalLike } from "./random_normal_like.ts";
import { randomUniform } from "./random_uniform.ts";
import { randomUniformLike } from "./random_uniform_like.ts";
import { range } from "./range.ts";
import { reciprocal } from "./reciprocal.ts";
import { reduceL1 } from "./reduce_l1.ts";
import { reduceL2 } from "./reduce_l2.ts";
import { reduceLogSum } from "./reduce_log_sum.ts";
import { reduceLogSumExp } from "./reduce_log_sum_exp.ts";
import { reduceMax } from "./reduce_max.ts";
import { reduceMean } from "./reduce_mean.ts";
import { reduceMin } from "./reduce_min.ts";
import { reduceProd } from "./reduce_prod.ts";
import { reduceSum } from "./reduce_sum.ts";
import { reduceSumSquare } from "./reduce_sum_square.ts";
import { relu } from "./relu.ts";
import { reshape } from "./reshape.ts";
import { resize } from "./resize.ts";
import { reverseSequence } from "./reverse_sequence.ts";
import { rnn } from "./rnn.ts";
import { roiAlign } from "./roi_align.ts";
import { maxRoiPool } from "./max_roi_pool.ts";
import { round } from "./round.ts";
import { scan } from "./scan.ts";
import { scatter } from "./scatter.ts";
import { scatterElements } from "./scatter_elements.ts";
import { scatterND } from "./scatter_nd.ts";
import { selu } from "./selu.ts";
import { shape } from "./shape.ts";
import { shrink } from "./shrink.ts";
import { sigmoid } from "./sigmoid.ts";
import { sign } from "./sign.ts";
import { sin } from "./sin.ts";
import { sinh } from "./sinh.ts";
import { size } from "./size.ts";
import { slice } from "./slice.ts";
import { softmax } from "./softmax.ts";
import { softmaxCrossEntropyLoss } from "./softmax_cross_entropy_loss.ts";
import { softplus } from "./softplus.ts";
import { softsign } from "./softsign.ts";
import { spaceToDepth } from "./space_to_depth.ts";
import { split } from "./split.ts";
import { sqrt } from "./sqrt.ts";
import { squeeze } from "./squeeze.ts";
import { stft } from "./stft.ts";
import { stringNormalizer } from "./string_normalizer.ts";
import { sub } from "./sub.ts";
import { sum } from "./sum.ts";
import { tan } from "./tan.ts";
import { tanh } from "./tanh.ts";
import { tfIdfVectorizer } from "./tf_idf_vectorizer.ts";
import { thresholdedRelu } from "./thresholded_relu.ts";
import { tile } from "./tile.ts";
import { topK } from "./top_k.ts";
import { transpose } from "./transpose.ts";
import { trilu } from "./trilu.ts";
import { unique } from "./unique.ts";
import { unsqueeze } from "./unsqueeze.ts";
import { upsample } from "./upsample.ts";
import { where } from "./where.ts";
import { xor } from "./xor.ts";
import { CONTRIB_KERNELS } from "./contrib/mod.ts";

/** Every implemented operator. */
export const KERNELS: Record<string, Kernel> = {
  "Abs": abs,
  "Acos": acos,
  "Acosh": acosh,
  "Add": add,
  "And": and,
  "ArgMax": argMax,
  "ArgMin": argMin,
  "Asin": asin,
  "Asinh": asinh,
  "Atan": atan,
  "Atanh": atanh,
  "AveragePool": averagePool,
  "BatchNormalization": batchNormalization,
  "Bernoulli": bernoulli,
  "BitShift": bitShift,
  "BlackmanWindow": blackmanWindow,
  "Cast": cast,
  "CastLike": castLike,
  "Ceil": ceil,
  "Celu": celu,
  "Clip": clip,
  "Compress": compress,
  "Concat": concat,
  "Constant": constant,
  "ConstantOfShape": constantOfShape,
  "Conv": conv,
  "ConvInteger": convInteger,
  "ConvTranspose": convTranspose,
  "Cos": cos,
  "Cosh": cosh,
  "CumSum": cumSum,
  "DFT": dftKernel,
  "DepthToSpace": depthToSpace,
  "DequantizeLinear": dequantizeLinear,
  "Det": det,
  "Div": div,
  "Dropout": dropout,
  "DynamicQuantizeLinear": dynamicQuantizeLinear,
  "Einsum": einsum,
  "Elu": elu,
  "Equal": equal,
  "Erf": erfKernel,
  "Exp": exp,
  "Expand": expand,
  "EyeLike": eyeLike,
  "Flatten": flatten,
  "Floor": floor,
  "GRU": gru,
  "Gather": gather,
  "GatherElements": gatherElements,
  "GatherND": gatherND,
  "Gemm": gemm,
  "GlobalAveragePool": globalAveragePool,
  "GlobalLpPool": globalLpPool,
  "GlobalMaxPool": globalMaxPool,
  "Greater": greater,
  "GreaterOrEqual": greaterOrEqual,
  "GridSample": gridSample,
  "HammingWindow": hammingWindow,
  "HannWindow": hannWindow,
  "HardSigmoid": hardSigmoid,
  "HardSwish": hardSwish,
  "Hardmax": hardmax,
  "Identity": identity,
  "If": ifKernel,
  "InstanceNormalization": instanceNormalization,
  "IsInf": isInf,
  "IsNaN": isNaN,
  "LRN": lrn,
  "LSTM": lstm,
  "LayerNormalization": layerNormalization,
  "LeakyRelu": leakyRelu,
  "Less": less,
  "LessOrEqual": lessOrEqual,
  "Log": log,
  "LogSoftmax": logSoftmax,
  "Loop": loop,
  "LpNormalization": lpNormalization,
  "LpPool": lpPool,
  "MatMul": matMul,
  "MatMulInteger": matMulInteger,
  "Max": max,
  "MaxPool": maxPool,
  "MaxUnpool": maxUnpool,
  "Mean": mean,
  "MeanVarianceNormalization": meanVarianceNormalization,
  "MelWeightMatrix": melWeightMatrix,
  "Min": min,
  "Mish": mish,
  "Mod": mod,
  "Mul": mul,
  "Neg": neg,
  "NegativeLogLikelihoodLoss": negativeLogLikelihoodLoss,
  "NonMaxSuppression": nonMaxSuppression,
  "NonZero": nonZero,
  "Not": not,
  "OneHot": oneHot,
  "Or": or,
  "PRelu": prelu,
  "Pad": pad,
  "Pow": pow,
  "QLinearConv": qLinearConv,
  "QLinearMatMul": qLinearMatMul,
  "QuantizeLinear": quantizeLinear,
  "RNN": rnn,
  "RandomNormal": randomNormal,
  "RandomNormalLike": randomNormalLike,
  "RandomUniform": randomUniform,
  "RandomUniformLike": randomUniformLike,
  "Range": range,
  "Reciprocal": reciprocal,
  "ReduceL1": reduceL1,
  "ReduceL2": reduceL2,
  "ReduceLogSum": reduceLogSum,
  "ReduceLogSumExp": reduceLogSumExp,
  "ReduceMax": reduceMax,
  "ReduceMean": reduceMean,
  "ReduceMin": reduceMin,
  "ReduceProd": reduceProd,
  "ReduceSum": reduceSum,
  "ReduceSumSquare": reduceSumSquare,
  "Relu": relu,
  "Reshape": reshape,
  "Resize": resize,
  "ReverseSequence": reverseSequence,
  "RoiAlign": roiAlign,
  "MaxRoiPool": maxRoiPool,
  "Round": round,
  "STFT": stft,
  "Scan": scan,
  "Scatter": scatter,
  "ScatterElements": scatterElements,
  "ScatterND": scatterND,
  "Selu": selu,
  "Shape": shape,
  "Shrink": shrink,
  "Sigmoid": sigmoid,
  "Sign": sign,
  "Sin": sin,
  "Sinh": sinh,
  "Size": size,
  "Slice": slice,
  "Softmax": softmax,
  "SoftmaxCrossEntropyLoss": softmaxCrossEntropyLoss,
  "Softplus": softplus,
  "Softsign": softsign,
  "SpaceToDepth": spaceToDepth,
  "Split": split,
  "Sqrt": sqrt,
  "Squeeze": squeeze,
  "StringNormalizer": stringNormalizer,
  "Sub": sub,
  "Sum": sum,
  "Tan": tan,
  "Tanh": tanh,
  "TfIdfVectorizer": tfIdfVectorizer,
  "ThresholdedRelu": thresholdedRelu,
  "Tile": tile,
  "TopK": topK,
  "Transpose": transpose,
  "Trilu": trilu,
  "Unique": unique,
  "Unsqueeze": unsqueeze,
  "Upsample": upsample,
  "Where": where,
  "Xor": xor,
  "ai.onnx.preview.training::Adagrad": adagrad,
  "ai.onnx.preview.training::Adam": adam,
  "ai.onnx.preview.training::Momentum": momentum,
  // dlm's StopGradient is the identity forward; the compiler lowers it to Identity on emission.
  "dlm::StopGradient": identity,
  ...CONTRIB_KERNELS,
};

/** The kernel of `op` in `domain` ("" or "ai.onnx" for the default domain), if implemented. */
export function kernelFor(op: string, domain = ""): Kernel | undefined {
  const d = domain === "ai.onnx" ? "" : domain;
  return Object.hasOwn(KERNELS, d ? `${d}::${op}` : op)
    ? KERNELS[d ? `${d}::${op}` : op]
    : undefined;
}
