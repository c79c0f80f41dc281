package dev.ultrakv.cli;

import dev.ultrakv.model.LlamaConfig;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.LlamaWeights;
import dev.ultrakv.tensor.FloatTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

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
        types.put("wq", describe(w.wq()[0]));
        types.put("wk", describe(w.wk()[0]));
        types.put("wv", describe(w.wv()[0]));
        types.put("wo", describe(w.wo()[0]));
        types.put("w1 (gate)", describe(w.w1()[0]));
        types.put("w2 (down)", describe(w.w2()[0]));
        types.put("w3 (up)", describe(w.w3()[0]));
        out.println("tensors (per layer where repeated):");
        types.forEach((name, type) -> out.printf(Locale.ROOT, "  %-18s %s%n", name, type));
    }

    private static String describe(FloatTensor t) {
        return String.format(Locale.ROOT, "%s, %,d elements, %,d bytes", t.type(), t.size(),
                t.segment().byteSize());
    }
}
