/**
 * {@code ultrakv quantize}: converting a GGUF model to another weight type or llama.cpp mix, tensor for tensor
 * as llama.cpp's {@code llama-quantize} converts it ({@link dev.ultrakv.model.quantize.GgufQuantizer}), with
 * llama.cpp's choice of type per tensor ({@link dev.ultrakv.model.quantize.TensorTypeRules}).
 */
package dev.ultrakv.model.quantize;
