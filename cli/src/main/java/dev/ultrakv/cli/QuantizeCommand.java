package dev.ultrakv.cli;

import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.quantize.GgufQuantizer;
import dev.ultrakv.model.quantize.QuantizeMix;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code ultrakv quantize}: llama.cpp's {@code llama-quantize} (without an importance matrix): a GGUF model
 * converted to a weight type or one of llama.cpp's mixes, with the same tensor types and bytes as llama.cpp.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Convert a GGUF model to another weight type, as llama.cpp's llama-quantize does (same types"
                + " per tensor, same bytes; no importance matrix).",
                "",
                "TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M,"
                        + " Q5_K_S, Q5_K_M, Q6_K (any case); Q3_K, Q4_K, Q5_K mean the _M mixes; or llama.cpp's"
                        + " file type number."},
        footer = {"",
                "Which tensors are converted (as llama.cpp): names ending in 'weight' with 2 or more dimensions,"
                        + " except *_norm.weight, *ffn_gate_inp.weight, position_embd and token_types; the rest,"
                        + " norms included, are copied unchanged.",
                "In the quantized types, as llama.cpp (use_more_bits: the first and last eighth of the layers and"
                        + " every third between):",
                "  output.weight (token_embd.weight if there is none): Q6_K (Q8_0 in Q8_0)",
                "  attn_v:    Q2_K -> Q3_K (Q4_K with >= 4 query heads per KV head); Q3_K_M -> Q5_K for the first"
                        + " 2, then Q4_K; Q3_K_L -> Q5_K; Q4_K_S -> Q5_K for the first 4; Q4_K_M, Q5_K_M -> Q6_K"
                        + " where use_more_bits; 70B models: Q3_K/Q4_K -> Q5_K; 8 experts: Q8_0",
                "  ffn_down:  Q2_K -> Q3_K; Q3_K_M -> Q5_K in the first 1/16 of the layers, then Q4_K;"
                        + " Q3_K_L -> Q5_K; Q4_K_S -> Q5_K in the first 1/8; Q4_K_M, Q5_K_M -> Q6_K where"
                        + " use_more_bits",
                "  attn_output: Q2_K -> Q3_K; Q3_K_M -> Q4_K; Q3_K_L -> Q5_K",
                "  attn_qkv:  Q3_K_M, Q3_K_L -> Q4_K; Q4_K_M -> Q5_K; Q5_K_M -> Q6_K",
                "Rows that are no whole 256-element super-blocks fall back: Q4_K -> Q5_0, Q5_K -> Q5_1,"
                        + " Q6_K -> Q8_0 (then F16); Q2_K and Q3_K (llama.cpp: IQ4_NL) are refused.",
                "Metadata is copied; general.file_type is set to llama.cpp's number and"
                        + " general.quantization_version to 2. See docs/quantize.md."})
final class QuantizeCommand implements Callable<Integer> {

    private static final double MIB = 1 << 20;

    @Parameters(index = "0", paramLabel = "IN.gguf", description = "The model to convert.")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT.gguf", description = "Where to write the converted model.")
    Path output;

    @Parameters(index = "2", paramLabel = "TYPE", description = "The type or mix to convert to (see above).")
    String type;

    @Option(names = "--allow-requantize",
            description = "Convert tensors that are already quantized (dequantized first; loses more than"
                    + " quantizing the original).")
    boolean allowRequantize;

    @Override
    public Integer call() {
        QuantizeMix mix = QuantizeMix.parse(type);
        long start = System.nanoTime();
        int[] done = {0};
        List<GgufQuantizer.TensorPlan> plan;
        try {
            plan = GgufQuantizer.quantize(input, output, mix, allowRequantize, p -> {
                done[0]++;
                GgufTensorInfo s = p.source();
                GgufTensorInfo t = p.target();
                System.err.printf(Locale.ROOT, "[%4d] %-36s %-16s %-5s -> %-5s %9.3f MiB -> %9.3f MiB%n", done[0],
                        s.name(), Arrays.stream(s.shape()).mapToObj(Long::toString).collect(Collectors.joining(" x ")),
                        s.type(), t.type(), s.byteSize() / MIB, t.byteSize() / MIB);
            });
        } catch (IOException e) {
            throw new UncheckedIOException(input + " -> " + output + ": " + SynthCommand.reason(e), e);
        }
        long before = plan.stream().mapToLong(p -> p.source().byteSize()).sum();
        long after = plan.stream().mapToLong(p -> p.target().byteSize()).sum();
        long converted = plan.stream().filter(GgufQuantizer.TensorPlan::converts).count();
        try {
            System.err.printf(Locale.ROOT, "wrote %s (%s, file type %d): %d tensors, %d converted, tensor data"
                            + " %.2f MiB -> %.2f MiB, file %,d bytes, in %.1f s%n", output, mix, mix.fileType(),
                    plan.size(), converted, before / MIB, after / MIB, Files.size(output),
                    (System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new UncheckedIOException(output + ": " + SynthCommand.reason(e), e);
        }
        return 0;
    }
}
