package dev.ultrakv.cli;

import dev.ultrakv.model.LlamaConfig;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.LlamaWeights;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code ultrakv info}: the model's hyper-parameters, tensor types and sizes. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print a model's hyper-parameters and tensor types.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Override
    public Integer call() {
        try (LlamaModel model = modelOptions.load()) {
            print(model, System.out);
        }
        return 0;
    }

    static void print(LlamaModel model, PrintStream out) {
        LlamaConfig c = model.config();
        LlamaWeights w = model.weights();
        out.printf(Locale.ROOT, "model:               %s%n", model.name());
        out.printf(Locale.ROOT, "architecture:        llama%n");
        model.fileType().ifPresent(t -> out.printf(Locale.ROOT, "file_type:           %s%n", t));
        out.printf(Locale.ROOT, "parameters:          %,d%n", c.parameterCount());
        out.printf(Locale.ROOT, "dim:                 %d%n", c.dim());
        out.printf(Locale.ROOT, "hidden_dim:          %d%n", c.hiddenDim());
        out.printf(Locale.ROOT, "layers:              %d%n", c.layers());
        out.printf(Locale.ROOT, "heads:               %d%n", c.heads());
        out.printf(Locale.ROOT, "kv_heads:            %d%n", c.kvHeads());
        out.printf(Locale.ROOT, "head_size:           %d%n", c.headSize());
        out.printf(Locale.ROOT, "vocab_size:          %d%n", c.vocabularySize());
        out.printf(Locale.ROOT, "context_length:      %d%n", c.contextLength());
        out.printf(Locale.ROOT, "rope_theta:          %s%n", c.ropeTheta());
        out.printf(Locale.ROOT, "rms_norm_eps:        %s%n", c.normEpsilon());
        out.printf(Locale.ROOT, "shared_classifier:   %s%n", c.sharedClassifier());
        out.printf(Locale.ROOT, "tokenizer:           %s (%d tokens, bos %d, eos %d)%n",
                model.tokenizer().getClass().getSimpleName(), model.tokenizer().vocabularySize(),
                model.tokenizer().bosId(), model.tokenizer().eosId());
        out.printf(Locale.ROOT, "weight bytes/token:  %,d%n", w.bytesPerToken());
        out.printf(Locale.ROOT, "kv bytes/token:      %,d (float32)%n", c.kvLayout().float32BytesPerToken());
        Map<String, String> types = new TreeMap<>();
        types.put("token_embedding", describe(w.tokenEmbedding()));
        types.put("classifier", c.sharedClassifier() ? "shared with token_embedding" : describe(w.classifier()));
        types.put("wq", describe(w.wq()));
        types.put("wk", describe(w.wk()));
        types.put("wv", describe(w.wv()));
        types.put("wo", describe(w.wo()));
        types.put("w1 (gate)", describe(w.w1()));
        types.put("w2 (down)", describe(w.w2()));
        types.put("w3 (up)", describe(w.w3()));
        out.println("tensors (per layer where repeated):");
        types.forEach((name, type) -> out.printf(Locale.ROOT, "  %-18s %s%n", name, type));
    }

    /**
     * The type and size of one layer's tensor, and where a file mixes types per layer (K-quant mixes such as
     * Q4_K_M put some layers' tensors in Q6_K), the layers of each type.
     */
    static String describe(FloatTensor[] perLayer) {
        Map<GgmlType, List<Integer>> layers = new EnumMap<>(GgmlType.class);
        for (int l = 0; l < perLayer.length; l++) {
            layers.computeIfAbsent(perLayer[l].type(), t -> new ArrayList<>()).add(l);
        }
        if (layers.size() == 1) {
            return describe(perLayer[0]);
        }
        StringJoiner mix = new StringJoiner(", ", "", String.format(Locale.ROOT, "; %,d elements",
                perLayer[0].size()));
        layers.forEach((type, ls) -> mix.add(type + " in layer" + (ls.size() == 1 ? " " : "s ")
                + ls.stream().map(String::valueOf).collect(Collectors.joining(" "))));
        return mix.toString();
    }

    private static String describe(FloatTensor t) {
        return String.format(Locale.ROOT, "%s, %,d elements, %,d bytes", t.type(), t.size(),
                t.segment().byteSize());
    }
}
