package dev.ultrakv.cli;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.quality.KvCandidate;
import dev.ultrakv.quality.QualityHarness;
import dev.ultrakv.quality.QualityReport;
import dev.ultrakv.quality.QualityTexts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code ultrakv quality}: how far each KV codec and compression setting moves the model's predictions away from
 * a float32, uncompressed cache on the shipped stories. Prints Markdown tables on stdout (and JSON to a file on
 * request), the time taken on stderr.
 */
@Command(name = "quality", mixinStandardHelpOptions = true,
        description = "Compare KV cache codecs and compression with a float32 cache: KL divergence, top-1"
                + " agreement, perplexity, first greedy divergence, bytes per token.")
final class QualityCommand implements Callable<Integer> {
    /**
     * Texts run by default: with four stories the default grid (11 caches) takes about 30 s of CPU on the
     * embedded model (40 s of wall time on a shared, busy two-core machine), most of it the lossy codecs'
     * attention over 512 positions; {@code --texts 12} runs them all.
     */
    static final int DEFAULT_TEXTS = 4;
    /** What {@code --methods} takes to run the codecs uncompressed only. */
    private static final String NO_METHOD = "none";

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--codecs", split = ",", defaultValue = "f32,f16,int8,int4,int2", paramLabel = "CODEC",
            description = "KV codecs, each run uncompressed (default: ${DEFAULT-VALUE}).")
    List<String> codecs;

    @Option(names = "--methods", split = ",", defaultValue = "streaming,h2o,snapkv", paramLabel = "METHOD",
            description = "Compression methods, or none, each run at every ratio over float32 blocks"
                    + " (default: ${DEFAULT-VALUE}).")
    List<String> methods;

    @Option(names = "--combine",
            description = "Also run every method and ratio over every codec of --codecs (a grid three times as"
                    + " long with the defaults).")
    boolean combine;

    @Option(names = "--ratios", split = ",", defaultValue = "0.5,0.3", paramLabel = "R",
            description = "Fractions of positions a compressed cache keeps, in (0, 1] (default: ${DEFAULT-VALUE}).")
    List<Double> ratios;

    @Option(names = "--lengths", split = ",", defaultValue = "128,256,512", paramLabel = "N",
            description = "Tokens of each text to run; the first 3/4 is the prompt (default: ${DEFAULT-VALUE}).")
    List<Integer> lengths;

    @Option(names = "--texts", defaultValue = "" + DEFAULT_TEXTS, paramLabel = "N",
            description = "Stories to run, 1 to 12 (default: ${DEFAULT-VALUE}).")
    int texts;

    @Option(names = "--greedy-tokens", defaultValue = "" + QualityHarness.DEFAULT_GREEDY_TOKENS, paramLabel = "N",
            description = "Greedy tokens compared from each prompt (default: ${DEFAULT-VALUE}).")
    int greedyTokens;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Override
    public Integer call() {
        List<KvCodecKind> codecKinds = parseCodecs(codecs);
        List<CompressionMethod> methodKinds = parseMethods(methods);
        List<KvCandidate> candidates = combine ? KvCandidate.combined(codecKinds, methodKinds, checkRatios(ratios))
                : KvCandidate.separate(codecKinds, methodKinds, checkRatios(ratios));
        int stories = QualityTexts.load().size();
        if (texts < 1 || texts > stories) {
            throw new IllegalArgumentException("--texts must be in 1.." + stories + ", got " + texts);
        }
        try (LlamaModel model = modelOptions.load()) {
            long start = System.nanoTime();
            QualityHarness harness = new QualityHarness(model, lengths, greedyTokens);
            QualityReport report = harness.run(QualityTexts.tokenized(model.tokenizer(), texts), candidates);
            System.out.print(report.toMarkdown());
            System.out.flush();
            if (json != null) {
                write(json, report.toJson());
            }
            System.err.printf(Locale.ROOT, "quality: %d caches (%d not run), %d texts at %s tokens in %.1f s%n",
                    candidates.size(), report.skipped().size(), texts,
                    lengths.stream().map(String::valueOf).collect(Collectors.joining(", ")),
                    (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }

    static List<KvCodecKind> parseCodecs(List<String> names) {
        List<KvCodecKind> kinds = new ArrayList<>();
        for (String name : names) {
            try {
                kinds.add(KvCodecKind.valueOf(name.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--codecs: unknown codec '" + name + "' (expected "
                        + lowerNames(KvCodecKind.values()) + ")");
            }
        }
        return kinds;
    }

    static List<CompressionMethod> parseMethods(List<String> names) {
        if (names.size() == 1 && names.getFirst().strip().equalsIgnoreCase(NO_METHOD)) {
            return List.of();
        }
        List<CompressionMethod> kinds = new ArrayList<>();
        for (String name : names) {
            try {
                kinds.add(CompressionMethod.valueOf(name.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--methods: unknown method '" + name + "' (expected "
                        + lowerNames(CompressionMethod.values()) + ", or " + NO_METHOD + ")");
            }
        }
        return kinds;
    }

    private static List<Double> checkRatios(List<Double> ratios) {
        for (double ratio : ratios) {
            if (!(ratio > 0 && ratio <= 1)) {
                throw new IllegalArgumentException("--ratios: " + ratio + " is outside (0, 1]");
            }
        }
        return ratios;
    }

    private static String lowerNames(Enum<?>[] values) {
        return Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
    }

    private static void write(Path file, String content) {
        try {
            Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("--json: cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
