// UltraKV side of the cross-check: the same JSON lines as llama.mjs, from the engine classes.
//   java --add-modules jdk.incubator.vector -cp engine/target/classes tools/llama-cpp-check/OurTokens.java \
//        tokenize MODEL.gguf PROMPT...
//        generate MODEL.gguf MAX_TOKENS CONTEXT PROMPT...
//        synth SHAPE DTYPE SEED OUT.gguf          (what `ultrakv synth` does)
// Generation is the engine's greedy path (prompt prefill, then one decode per token, argmax of the logits, stop
// at BOS/EOS as TextGenerator does); margins[i] is logit(top1) - logit(top2) at step i.
import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.tensor.GgmlType;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

public class OurTokens {
    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "synth" -> SyntheticModel.write(SyntheticShape.named(args[1]),
                    GgmlType.valueOf(args[2].toUpperCase(Locale.ROOT)), Long.parseLong(args[3]), Path.of(args[4]));
            case "tokenize" -> {
                try (LlamaModel model = ModelLoader.load(Path.of(args[1]), null)) {
                    for (String raw : Arrays.copyOfRange(args, 2, args.length)) {
                        String prompt = unescape(raw);
                        System.out.println("{\"prompt\":" + json(prompt) + ",\"promptTokens\":"
                                + Arrays.toString(model.tokenizer().encode(prompt, true)).replace(" ", "") + "}");
                    }
                }
            }
            case "generate" -> {
                int maxTokens = Integer.parseInt(args[2]);
                int context = Integer.parseInt(args[3]);
                try (LlamaModel model = ModelLoader.load(Path.of(args[1]), null).withContextLength(context)) {
                    for (String raw : Arrays.copyOfRange(args, 4, args.length)) {
                        generate(model, unescape(raw), maxTokens, context);
                    }
                }
            }
            default -> {
                System.err.println("usage: OurTokens tokenize MODEL PROMPT... | generate MODEL MAX_TOKENS CONTEXT"
                        + " PROMPT... | synth SHAPE DTYPE SEED OUT");
                System.exit(2);
            }
        }
    }

    static void generate(LlamaModel model, String prompt, int maxTokens, int context) {
        int[] input = model.tokenizer().encode(prompt, true);
        int vocab = model.config().vocabularySize();
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), context);
        float[] logits = model.prefill(model.newState(input.length), input, 0, input.length, 0, store);
        ForwardState decodeState = model.newState(1);
        List<Integer> tokens = new ArrayList<>();
        List<String> margins = new ArrayList<>();
        String stop = "max_tokens";
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        int previous = input[input.length - 1];
        while (true) {
            int best = Sampler.argmax(logits, 0, vocab);
            float second = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                if (i != best && logits[i] > second) {
                    second = logits[i];
                }
            }
            if (best == model.tokenizer().bosId() || best == model.tokenizer().eosId()) {
                stop = "eog:" + best;
                break;
            }
            tokens.add(best);
            margins.add(String.format(Locale.ROOT, "%.4f", logits[best] - second));
            text.writeBytes(model.tokenizer().decode(previous, best));
            previous = best;
            if (tokens.size() >= maxTokens || input.length + tokens.size() >= context) {
                break;
            }
            logits = model.decode(decodeState, best, input.length + tokens.size() - 1, store);
        }
        System.out.println("{\"prompt\":" + json(prompt) + ",\"promptTokens\":"
                + Arrays.toString(input).replace(" ", "") + ",\"tokens\":" + tokens.toString().replace(" ", "")
                + ",\"margins\":[" + String.join(",", margins) + "],\"text\":"
                + json(text.toString(StandardCharsets.UTF_8)) + ",\"stop\":\"" + stop + "\"}");
    }

    static String unescape(String s) {
        return s.replace("\\n", "\n").replace("\\t", "\t");
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return b.append('"').toString();
    }
}
