// UltraKV's side of docs/architectures.md's check: the prompt's ids and N greedy tokens (argmax, never stopping),
// printed as "prompt [..]" and "tokens [..]" lines without commas.
//   java --add-modules jdk.incubator.vector -cp cli/target/ultrakv.jar GreedyIds.java MODEL.gguf PROMPT N
import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;

import java.nio.file.Path;
import java.util.Arrays;

public class GreedyIds {
    public static void main(String[] args) {
        try (LlamaModel m = ModelLoader.load(Path.of(args[0]), null)) {
            int n = Integer.parseInt(args[2]);
            int[] prompt = m.tokenizer().encode(args[1], true);
            DenseKvStore store = new DenseKvStore(m.config().kvLayout(), prompt.length + n);
            ForwardState s = m.newState(prompt.length);
            float[] logits = m.prefill(s, prompt, 0, prompt.length, 0, store);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                int best = 0;
                for (int j = 1; j < m.config().vocabularySize(); j++) {
                    if (logits[j] > logits[best]) {
                        best = j;
                    }
                }
                out[i] = best;
                logits = m.decode(s, best, prompt.length + i, store);
            }
            System.out.println(("prompt " + Arrays.toString(prompt)).replace(",", ""));
            System.out.println(("tokens " + Arrays.toString(out)).replace(",", ""));
        }
    }
}
