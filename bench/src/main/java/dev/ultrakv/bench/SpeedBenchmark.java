package dev.ultrakv.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaConfig;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.LlamaWeights;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Parallel;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * Prompt processing and text generation speed of one model, measured as llama.cpp's {@code llama-bench} measures
 * them, so that the two can be compared on the same file and cores: {@code ppN} processes an N-token prompt into
 * an empty cache in one prefill, {@code tgN} generates N tokens one at a time from an empty cache; each test runs
 * once unmeasured (the JIT compiles the kernels), then {@code repetitions} times, reported as mean ± sample
 * standard deviation of tokens per second.
 *
 * <h2>Notes</h2>
 * The model runs directly, without the engine's scheduler and paged cache: this is the speed of the forward pass
 * and its kernels, the figure {@code llama-bench} gives. Prompt tokens are random (seeded) ids of the vocabulary
 * after BOS; generated tokens are the argmax of each step's logits, as a greedy run would pick them.
 */
public final class SpeedBenchmark {
    /** Output formats, as {@code llama-bench -o}. */
    public enum Format { MD, CSV, JSON }

    /** Nanoseconds per second. */
    private static final double NANOS = 1e9;

    /**
     * One test's figures.
     *
     * @param test      {@code pp512}, {@code tg128}, ...
     * @param samplesNs duration of each measured repetition
     */
    public record Row(String modelFilename, String modelType, long modelSize, long modelParams, int threads,
                      String test, int nPrompt, int nGen, Instant testTime, long[] samplesNs) {

        /** Tokens processed per repetition. */
        public int tokens() {
            return nPrompt + nGen;
        }

        /** Tokens per second of each repetition. */
        public double[] samplesTs() {
            double[] ts = new double[samplesNs.length];
            for (int i = 0; i < ts.length; i++) {
                ts[i] = tokens() * NANOS / samplesNs[i];
            }
            return ts;
        }

        /** Mean tokens per second over the repetitions. */
        public double avgTs() {
            return mean(samplesTs());
        }

        /** Sample standard deviation of tokens per second (0 for one repetition). */
        public double stddevTs() {
            return stddev(samplesTs());
        }

        /** Mean duration of a repetition. */
        public long avgNs() {
            return Math.round(mean(nanos()));
        }

        /** Sample standard deviation of the duration of a repetition. */
        public long stddevNs() {
            return Math.round(stddev(nanos()));
        }

        private double[] nanos() {
            return Arrays.stream(samplesNs).asDoubleStream().toArray();
        }
    }

    private SpeedBenchmark() {
    }

    /**
     * Runs {@code ppN} for each prompt length and {@code tgN} for each generation length (0 skips none; lengths of
     * 0 are skipped, as {@code llama-bench -p 0} skips prompt processing).
     *
     * @param model         the model, loaded
     * @param modelFilename what the rows name the model by (the file's path)
     * @param prompts       prompt lengths of the pp tests
     * @param gens          generation lengths of the tg tests
     * @param repetitions   measured repetitions of each test, at least 1
     * @param seed          seed of the prompt tokens
     * @param clock         nanosecond clock ({@code System::nanoTime})
     */
    public static List<Row> run(LlamaModel model, String modelFilename, int[] prompts, int[] gens, int repetitions,
                                long seed, LongSupplier clock) {
        if (repetitions < 1) {
            throw new IllegalArgumentException("repetitions must be at least 1, got " + repetitions);
        }
        LlamaConfig c = model.config();
        for (int n : concat(prompts, gens)) {
            if (n < 0 || n > c.contextLength()) {
                throw new IllegalArgumentException("a test of " + n + " tokens does not fit the model's context of "
                        + c.contextLength() + " positions (--context-length sets another)");
            }
        }
        String type = modelType(model);
        long size = modelSize(model.weights());
        List<Row> rows = new ArrayList<>();
        for (int n : prompts) {
            if (n > 0) {
                int[] prompt = randomTokens(model, n, seed + n);
                prefillNanos(model, prompt, clock);
                long[] samples = new long[repetitions];
                Instant start = Instant.now();
                for (int r = 0; r < repetitions; r++) {
                    samples[r] = prefillNanos(model, prompt, clock);
                }
                rows.add(new Row(modelFilename, type, size, c.parameterCount(), Parallel.threads(), "pp" + n, n, 0,
                        start, samples));
            }
        }
        for (int n : gens) {
            if (n > 0) {
                int first = randomTokens(model, 2, seed - n)[1];
                generateNanos(model, first, n, clock);
                long[] samples = new long[repetitions];
                Instant start = Instant.now();
                for (int r = 0; r < repetitions; r++) {
                    samples[r] = generateNanos(model, first, n, clock);
                }
                rows.add(new Row(modelFilename, type, size, c.parameterCount(), Parallel.threads(), "tg" + n, 0, n,
                        start, samples));
            }
        }
        return rows;
    }

    /** Time of one prefill of {@code prompt} into an empty cache (the roofline benchmark's too). */
    static long prefillNanos(LlamaModel model, int[] prompt, LongSupplier clock) {
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), prompt.length);
        ForwardState state = model.newState(Math.min(prompt.length, LlamaModel.DEFAULT_PREFILL_CHUNK));
        long start = clock.getAsLong();
        model.prefill(state, prompt, 0, prompt.length, 0, store);
        return clock.getAsLong() - start;
    }

    /** Time of {@code n} single-token steps from an empty cache, each feeding the last step's argmax. */
    private static long generateNanos(LlamaModel model, int first, int n, LongSupplier clock) {
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), n);
        ForwardState one = model.newState(1);
        int vocabulary = model.config().vocabularySize();
        int token = first;
        long start = clock.getAsLong();
        for (int i = 0; i < n; i++) {
            float[] logits = model.decode(one, token, i, store);
            token = Sampler.argmax(logits, 0, vocabulary);
        }
        return clock.getAsLong() - start;
    }

    /** BOS, then seeded random ids of ordinary tokens. */
    private static int[] randomTokens(LlamaModel model, int n, long seed) {
        int vocabulary = model.config().vocabularySize();
        int bos = model.tokenizer().bosId();
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[n];
        tokens[0] = bos;
        for (int i = 1; i < n; i++) {
            int t;
            do {
                t = random.nextInt(vocabulary);
            } while (t == bos || t == model.tokenizer().eosId());
            tokens[i] = t;
        }
        return tokens;
    }

    /**
     * llama-bench's model type: the architecture, a size label from the parameter count and the weight mix the
     * file declares ({@code general.file_type}, e.g. {@code llama 1M Q4_K - Medium} for a file mixing Q4_K and
     * Q6_K), or else the weight type that holds most of the matrices' bytes, e.g. {@code llama 110M F32}.
     */
    static String modelType(LlamaModel model) {
        String label = "llama " + sizeLabel(model.config().parameterCount()) + " ";
        return label + model.fileType().orElseGet(() -> mainType(model).toString());
    }

    /** The weight type that holds most of the matrices' bytes. */
    private static GgmlType mainType(LlamaModel model) {
        Map<GgmlType, Long> bytes = new EnumMap<>(GgmlType.class);
        LlamaWeights w = model.weights();
        for (FloatTensor[] matrices : List.of(w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3())) {
            for (FloatTensor t : matrices) {
                bytes.merge(t.type(), t.segment().byteSize(), Long::sum);
            }
        }
        return bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                .orElse(w.classifier().type());
    }

    /** {@code 110M}, {@code 1.2B}: the parameter count rounded as model names round it. */
    static String sizeLabel(long params) {
        if (params >= 1_000_000_000L) {
            return trim(String.format(Locale.ROOT, "%.1f", params / 1e9)) + "B";
        }
        if (params >= 1_000_000L) {
            return Math.round(params / 1e6) + "M";
        }
        return Math.round(params / 1e3) + "K";
    }

    private static String trim(String number) {
        return number.endsWith(".0") ? number.substring(0, number.length() - 2) : number;
    }

    /** Bytes of every tensor of the model as stored (the classifier once when shared). */
    static long modelSize(LlamaWeights w) {
        long bytes = w.tokenEmbedding().segment().byteSize() + (long) w.finalNorm().length * Float.BYTES;
        if (w.classifier() != w.tokenEmbedding()) {
            bytes += w.classifier().segment().byteSize();
        }
        for (FloatTensor[] matrices : List.of(w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3())) {
            for (FloatTensor t : matrices) {
                bytes += t.segment().byteSize();
            }
        }
        for (float[][] norms : List.of(w.attentionNorm(), w.ffnNorm())) {
            for (float[] norm : norms) {
                bytes += (long) norm.length * Float.BYTES;
            }
        }
        return bytes;
    }

    /** The rows in {@code format}: llama-bench's markdown table, or its CSV / JSON fields. */
    public static String format(List<Row> rows, Format format, MachineInfo machine) {
        return switch (format) {
            case MD -> markdown(rows);
            case CSV -> csv(rows, machine);
            case JSON -> json(rows, machine);
        };
    }

    private static String markdown(List<Row> rows) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| %-30s | %10s | %10s | %-10s | %7s | %15s | %20s |%n",
                "model", "size", "params", "backend", "threads", "test", "t/s"));
        out.append("| ------------------------------ | ---------: | ---------: | ---------- | ------: |"
                + " --------------: | -------------------: |\n");
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "| %-30s | %10s | %10s | %-10s | %7d | %15s | %20s |%n",
                    r.modelType(), bytes(r.modelSize()), params(r.modelParams()), "CPU", r.threads(), r.test(),
                    String.format(Locale.ROOT, "%.2f ± %.2f", r.avgTs(), r.stddevTs())));
        }
        return out.toString();
    }

    /** {@code 513.87 MiB}, {@code 1.20 GiB}, as llama-bench prints sizes. */
    static String bytes(long size) {
        return size >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", size / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.2f MiB", size / (double) (1L << 20));
    }

    /** {@code 134.52 M}, {@code 1.24 B}, as llama-bench prints parameter counts. */
    static String params(long n) {
        return n >= 1_000_000_000L ? String.format(Locale.ROOT, "%.2f B", n / 1e9)
                : String.format(Locale.ROOT, "%.2f M", n / 1e6);
    }

    private static final List<String> CSV_FIELDS = List.of("build_commit", "cpu_info", "backends", "model_filename",
            "model_type", "model_size", "model_n_params", "n_threads", "test", "n_prompt", "n_gen", "test_time",
            "avg_ns", "stddev_ns", "avg_ts", "stddev_ts");

    private static String csv(List<Row> rows, MachineInfo machine) {
        StringBuilder out = new StringBuilder(String.join(",", CSV_FIELDS)).append('\n');
        for (Row r : rows) {
            List<String> values = List.of(machine.gitCommit(), machine.cpu(), "CPU", r.modelFilename(),
                    r.modelType(), Long.toString(r.modelSize()), Long.toString(r.modelParams()),
                    Integer.toString(r.threads()), r.test(), Integer.toString(r.nPrompt()),
                    Integer.toString(r.nGen()), r.testTime().toString(), Long.toString(r.avgNs()),
                    Long.toString(r.stddevNs()), String.format(Locale.ROOT, "%.6f", r.avgTs()),
                    String.format(Locale.ROOT, "%.6f", r.stddevTs()));
            out.append(String.join(",", values.stream().map(SpeedBenchmark::csvField).toList())).append('\n');
        }
        return out.toString();
    }

    private static String csvField(String value) {
        return "\"" + value.replace("\"", "\"\"") + "\"";
    }

    private static String json(List<Row> rows, MachineInfo machine) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ArrayNode array = mapper.createArrayNode();
        for (Row r : rows) {
            ObjectNode o = array.addObject();
            o.put("build_commit", machine.gitCommit());
            o.put("cpu_info", machine.cpu());
            o.put("backends", "CPU");
            o.put("model_filename", r.modelFilename());
            o.put("model_type", r.modelType());
            o.put("model_size", r.modelSize());
            o.put("model_n_params", r.modelParams());
            o.put("n_threads", r.threads());
            o.put("test", r.test());
            o.put("n_prompt", r.nPrompt());
            o.put("n_gen", r.nGen());
            o.put("test_time", r.testTime().toString());
            o.put("avg_ns", r.avgNs());
            o.put("stddev_ns", r.stddevNs());
            o.put("avg_ts", r.avgTs());
            o.put("stddev_ts", r.stddevTs());
            ArrayNode ns = o.putArray("samples_ns");
            for (long v : r.samplesNs()) {
                ns.add(v);
            }
            ArrayNode ts = o.putArray("samples_ts");
            for (double v : r.samplesTs()) {
                ts.add(v);
            }
        }
        try {
            return mapper.writeValueAsString(array) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the rows as JSON", e);
        }
    }

    private static double mean(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static double stddev(double[] values) {
        if (values.length < 2) {
            return 0;
        }
        double mean = mean(values);
        double squares = 0;
        for (double v : values) {
            squares += (v - mean) * (v - mean);
        }
        return Math.sqrt(squares / (values.length - 1));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] all = new int[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
