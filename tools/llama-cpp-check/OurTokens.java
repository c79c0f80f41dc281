// UltraKV side of the cross-check: the same JSON lines as llama.mjs, from the engine classes.
//   java --add-modules jdk.incubator.vector -cp engine/target/classes tools/llama-cpp-check/OurTokens.java \
//        tokenize MODEL.gguf PROMPT...
//        generate MODEL.gguf MAX_TOKENS CONTEXT PROMPT...
//        force MODEL.gguf CONTEXT PROMPT ID,ID,...   (feeds the given continuation, see force())
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
            case "force" -> {
                int context = Integer.parseInt(args[2]);
                try (LlamaModel model = ModelLoader.load(Path.of(args[1]), null).withContextLength(context)) {
                    force(model, unescape(args[3]), Arrays.stream(args[4].split(",")).mapToInt(Integer::parseInt)
                            .toArray(), context);
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
                stop = "end:" + best;
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

    /**
     * Teacher forcing: runs the prompt, then feeds {@code expected} (llama.cpp's greedy tokens) one by one, and at
     * each step compares our argmax with the expected token. Prints how many agree, and for each that does not:
     * [position, our token, expected token, our logit gap top1 - logit(expected)]; also the mean standard
     * deviation of our logits, the scale against which those gaps are small or not.
     */
    static void force(LlamaModel model, String prompt, int[] expected, int context) {
        int[] input = model.tokenizer().encode(prompt, true);
        int vocab = model.config().vocabularySize();
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), context);
        float[] logits = model.prefill(model.newState(input.length), input, 0, input.length, 0, store);
        ForwardState decodeState = model.newState(1);
        List<String> mismatches = new ArrayList<>();
        double stdSum = 0;
        int agree = 0;
        for (int i = 0; i < expected.length; i++) {
            int best = Sampler.argmax(logits, 0, vocab);
            double mean = 0, sq = 0;
            for (int v = 0; v < vocab; v++) {
                mean += logits[v];
                sq += (double) logits[v] * logits[v];
            }
            mean /= vocab;
            stdSum += Math.sqrt(Math.max(0, sq / vocab - mean * mean));
            if (best == expected[i]) {
                agree++;
            } else {
                mismatches.add(String.format(Locale.ROOT, "[%d,%d,%d,%.4f]", i, best, expected[i],
                        logits[best] - logits[expected[i]]));
            }
            if (i + 1 < expected.length) {
                logits = model.decode(decodeState, expected[i], input.length + i, store);
            }
        }
        System.out.println(String.format(Locale.ROOT, "{\"positions\":%d,\"agree\":%d,\"logitStd\":%.4f,"
                + "\"mismatches\":[%s]}", expected.length, agree, stdSum / expected.length,
                String.join(",", mismatches)));
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
