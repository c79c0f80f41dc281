package dev.ultrakv.bench.serve;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * Everything a {@code bench serve} run is set to, recorded in its {@code results.json} ({@code config.settings}).
 * The API key is not among them: it is handed to the client alone and never written anywhere.
 *
 * @param url               the server's base URL ({@code http://127.0.0.1:8080}); requests go to its {@code /v1/...}
 * @param model             the model name sent in each request, or null to ask the server ({@code GET /v1/models})
 * @param chat              whether to use {@code /v1/chat/completions} instead of {@code /v1/completions}
 * @param stream            whether to stream (SSE) and so measure time to first token and between tokens
 * @param concurrencyLevels requests in flight at each level, run one level after another
 * @param requests          requests per level
 * @param maxTokens         {@code max_tokens} of each request
 * @param temperature       {@code temperature} of each request
 * @param ignoreEos         whether to send {@code ignore_eos: true} (vLLM and llama.cpp honour it) so that every
 *                          request generates {@code maxTokens}
 * @param workload          {@code random}, {@code shared-prefix}, {@code multi-turn} or {@code trace}
 * @param traceFile         the Mooncake JSONL trace of the {@code trace} workload, else null
 * @param promptWords       words of a random prompt, of the unique part after a shared prefix, or of a user turn
 * @param prefixWords       words of each shared prefix ({@code shared-prefix})
 * @param prefixes          distinct shared prefixes ({@code shared-prefix})
 * @param turns             turns per conversation ({@code multi-turn})
 * @param wordsPerBlock     words that stand for one Mooncake hash id (a block of 512 tokens in the trace)
 * @param seed              seed of the generated prompts
 * @param warmupRequests    requests sent before the first level at the highest concurrency and not measured, with
 *                          prompts of their own (they warm the client's and the server's JIT, not the cache)
 * @param timeoutSeconds    the longest one request may take before it is abandoned and counted as a timeout
 * @param deadlineSeconds   the longest the whole run may take: no request is sent after it, running ones are
 *                          cancelled
 */
public record ServeSettings(String url, String model, boolean chat, boolean stream, List<Integer> concurrencyLevels,
                            int requests, int maxTokens, double temperature, boolean ignoreEos, String workload,
                            String traceFile, int promptWords, int prefixWords, int prefixes, int turns,
                            int wordsPerBlock, long seed, int warmupRequests, double timeoutSeconds,
                            double deadlineSeconds) {
    /** The workloads by name. */
    public static final List<String> WORKLOADS = List.of("random", "shared-prefix", "multi-turn", "trace");

    /**
     * Validates every value.
     *
     * @throws IllegalArgumentException naming the option and the value
     */
    public ServeSettings {
        URI uri = parseUrl(url);
        url = uri.toString();
        concurrencyLevels = List.copyOf(concurrencyLevels);
        if (concurrencyLevels.isEmpty()
                || concurrencyLevels.stream().anyMatch(c -> c < 1 || c > OpenAiClient.MAX_CONNECTIONS)) {
            throw new IllegalArgumentException("--concurrency must list levels from 1 to "
                    + OpenAiClient.MAX_CONNECTIONS + " (one connection and one thread each): " + concurrencyLevels);
        }
        positive("--requests", requests);
        positive("--max-tokens", maxTokens);
        positive("--prompt-words", promptWords);
        positive("--prefix-words", prefixWords);
        positive("--prefixes", prefixes);
        positive("--turns", turns);
        positive("--words-per-block", wordsPerBlock);
        if (warmupRequests < 0) {
            throw new IllegalArgumentException("--warmup-requests must be >= 0: " + warmupRequests);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be a number >= 0: " + temperature);
        }
        if (!(timeoutSeconds > 0) || Double.isInfinite(timeoutSeconds)) {
            throw new IllegalArgumentException("--timeout must be a number of seconds > 0: " + timeoutSeconds);
        }
        if (!(deadlineSeconds > 0) || Double.isInfinite(deadlineSeconds)) {
            throw new IllegalArgumentException("--deadline must be a number of seconds > 0: " + deadlineSeconds);
        }
        workload = workload.toLowerCase(Locale.ROOT);
        if (!WORKLOADS.contains(workload)) {
            throw new IllegalArgumentException("unknown --workload '" + workload + "': expected one of " + WORKLOADS);
        }
        if (workload.equals("trace") != (traceFile != null)) {
            throw new IllegalArgumentException(traceFile == null
                    ? "--workload trace needs a file: --workload trace FILE"
                    : "a trace file is only read by --workload trace");
        }
    }

    /** A builder with the defaults of {@code bench serve}, for the server at {@code url}. */
    public static Builder builder(String url) {
        return new Builder(url);
    }

    /** The endpoint requests are posted to. */
    public URI endpoint() {
        return URI.create(url + (chat ? "/v1/chat/completions" : "/v1/completions"));
    }

    /** Builds {@link ServeSettings}; every field starts at {@code bench serve}'s default. */
    public static final class Builder {
        private final String url;
        private String model;
        private boolean chat;
        private boolean stream;
        private List<Integer> concurrencyLevels = List.of(1, 8, 32);
        private int requests = 100;
        private int maxTokens = 64;
        private double temperature;
        private boolean ignoreEos;
        private String workload = "random";
        private String traceFile;
        private int promptWords = 64;
        private int prefixWords = 256;
        private int prefixes = 4;
        private int turns = 4;
        private int wordsPerBlock = 16;
        private long seed = 42;
        private int warmupRequests;
        private double timeoutSeconds = 60;
        private double deadlineSeconds = 1800;

        private Builder(String url) {
            this.url = url;
        }

        /** The model name to send; null (the default) asks the server. */
        public Builder model(String value) {
            model = value;
            return this;
        }

        /** Chat completions instead of completions (default false). */
        public Builder chat(boolean value) {
            chat = value;
            return this;
        }

        /** Streaming responses (default false). */
        public Builder stream(boolean value) {
            stream = value;
            return this;
        }

        /** Concurrency levels (default 1, 8, 32). */
        public Builder concurrencyLevels(List<Integer> value) {
            concurrencyLevels = value;
            return this;
        }

        /** Requests per level (default 100). */
        public Builder requests(int value) {
            requests = value;
            return this;
        }

        /** {@code max_tokens} (default 64). */
        public Builder maxTokens(int value) {
            maxTokens = value;
            return this;
        }

        /** {@code temperature} (default 0). */
        public Builder temperature(double value) {
            temperature = value;
            return this;
        }

        /** Send {@code ignore_eos: true} (default false). */
        public Builder ignoreEos(boolean value) {
            ignoreEos = value;
            return this;
        }

        /** The workload by name (default {@code random}), with its trace file for {@code trace}, else null. */
        public Builder workload(String name, String trace) {
            workload = name;
            traceFile = trace;
            return this;
        }

        /** Words of a random prompt, a unique suffix or a user turn (default 64). */
        public Builder promptWords(int value) {
            promptWords = value;
            return this;
        }

        /** Words of each shared prefix (default 256). */
        public Builder prefixWords(int value) {
            prefixWords = value;
            return this;
        }

        /** Distinct shared prefixes (default 4). */
        public Builder prefixes(int value) {
            prefixes = value;
            return this;
        }

        /** Turns per conversation (default 4). */
        public Builder turns(int value) {
            turns = value;
            return this;
        }

        /** Words per Mooncake hash id (default 16). */
        public Builder wordsPerBlock(int value) {
            wordsPerBlock = value;
            return this;
        }

        /** Seed of the prompts (default 42). */
        public Builder seed(long value) {
            seed = value;
            return this;
        }

        /** Unmeasured requests before the first level (default 0). */
        public Builder warmupRequests(int value) {
            warmupRequests = value;
            return this;
        }

        /** Per-request timeout in seconds (default 60). */
        public Builder timeoutSeconds(double value) {
            timeoutSeconds = value;
            return this;
        }

        /** Deadline of the whole run in seconds (default 1800). */
        public Builder deadlineSeconds(double value) {
            deadlineSeconds = value;
            return this;
        }

        /**
         * The settings.
         *
         * @throws IllegalArgumentException naming the option of a bad value
         */
        public ServeSettings build() {
            return new ServeSettings(url, model, chat, stream, concurrencyLevels, requests, maxTokens, temperature,
                    ignoreEos, workload, traceFile, promptWords, prefixWords, prefixes, turns, wordsPerBlock, seed,
                    warmupRequests, timeoutSeconds, deadlineSeconds);
        }
    }

    /** {@code url} without a trailing slash or {@code /v1}, checked to be an absolute http(s) URL. */
    private static URI parseUrl(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("--url is required, e.g. --url http://127.0.0.1:8080");
        }
        String trimmed = url.strip();
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        if (trimmed.endsWith("/v1")) {
            trimmed = trimmed.substring(0, trimmed.length() - "/v1".length());
        }
        URI uri;
        try {
            uri = URI.create(trimmed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--url '" + url + "' is not a URL: " + e.getMessage());
        }
        if (uri.getScheme() == null || !uri.getScheme().matches("https?") || uri.getHost() == null
                || uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException("--url '" + url + "' must be http://HOST[:PORT] or https://...");
        }
        return uri;
    }

    private static void positive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be at least 1: " + value);
        }
    }
}
