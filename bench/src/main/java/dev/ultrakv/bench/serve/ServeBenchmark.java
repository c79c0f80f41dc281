package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.bench.suite.Progress;

import java.net.URI;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * {@code bench serve}: drives an OpenAI-compatible server over HTTP at each concurrency level and measures what
 * vLLM's {@code benchmark_serving} measures: time to first token, time per output token, inter-token latency and
 * end-to-end latency (mean, stdev, p50, p90, p95, p99), request and token throughput, and the share of prompt
 * tokens the server found cached.
 *
 * <h2>Notes</h2>
 * <b>The load is closed</b>: at level {@code c}, {@code c} clients (virtual threads) each send a request, wait for
 * its whole answer and send the next, until the level's {@code requests} are done; a multi-turn conversation
 * stays with one client so that each turn can quote the answers before it. Throughputs are completed requests
 * and tokens over the level's wall time. There is no request rate to miss, so no coordinated omission.
 * <p><b>Bounds.</b> Every request is abandoned after the per-request timeout (its connection closed, counted as
 * {@code timeout}); past the run's deadline no request is sent (counted as not sent) and running ones are
 * cancelled (counted as {@code deadline}). A run therefore ends within the deadline plus one timeout.
 */
public final class ServeBenchmark {
    /** The key of the result in {@code results.json}'s {@code benchmarks}. */
    public static final String KEY = "serve";
    private static final double NANOS_PER_SECOND = 1e9;
    /** Enough of an error's message to recognize it. */
    private static final int EXAMPLE_CHARS = 200;

    /**
     * The figures of one concurrency level.
     *
     * @param concurrency          requests in flight
     * @param requests             requests planned
     * @param completed            requests answered in full
     * @param failed               requests that failed (see {@code errors})
     * @param notSent              requests not sent because the run's deadline had passed
     * @param durationSeconds      wall time of the level
     * @param requestsPerSecond    completed requests per second
     * @param outputTokensPerSecond generated tokens of completed requests per second
     * @param totalTokensPerSecond prompt and generated tokens of completed requests per second
     * @param promptTokens         prompt tokens of completed requests ({@code usage})
     * @param outputTokens         generated tokens of completed requests
     * @param cachedTokens         prompt tokens the server found cached, over the responses that said
     * @param cachedTokensReported responses that said how many prompt tokens were cached
     * @param cachedTokenShare     cached ÷ prompt tokens over those responses, or null when none said
     * @param ttft                 time to first token (streaming only), ms
     * @param tpot                 time per output token after the first (streaming only), ms
     * @param itl                  every gap between two text chunks (streaming only), ms
     * @param e2el                 end-to-end latency of completed requests, ms
     * @param errors               failed requests by HTTP status or {@link ErrorKind} key
     * @param errorExamples        for each key of {@code errors}, what the first such failure said
     */
    public record Level(int concurrency, int requests, int completed, int failed, int notSent,
                        double durationSeconds, double requestsPerSecond, double outputTokensPerSecond,
                        double totalTokensPerSecond, long promptTokens, long outputTokens, long cachedTokens,
                        int cachedTokensReported, Double cachedTokenShare, Distribution ttft, Distribution tpot,
                        Distribution itl, Distribution e2el, Map<String, Integer> errors,
                        Map<String, String> errorExamples) {
    }

    /**
     * What a run measured.
     *
     * @param endpoint the URL the requests were posted to
     * @param model    the model name sent, or null when neither given nor listed by the server
     * @param stream   whether responses were streamed
     * @param workload the workload's name
     * @param levels   each level's figures, in the order run
     */
    public record Result(String endpoint, String model, boolean stream, String workload, List<Level> levels) {
    }

    private ServeBenchmark() {
    }

    /**
     * Runs every level of {@code settings} against its server and gathers the results with the machine's
     * description.
     *
     * @param apiKey the bearer token, or null
     * @throws IllegalArgumentException if the workload cannot be built (a trace file that cannot be read)
     */
    public static ServeResults run(ServeSettings settings, String apiKey, Progress progress, LongSupplier clock) {
        String timestamp = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
        long began = clock.getAsLong();
        try (var client = new OpenAiClient(URI.create(settings.url()), apiKey,
                Duration.ofMillis((long) (settings.timeoutSeconds() * 1000)), clock)) {
            return run(settings, client, timestamp, began, progress, clock);
        }
    }

    private static ServeResults run(ServeSettings settings, OpenAiClient client, String timestamp, long began,
                                    Progress progress, LongSupplier clock) {
        String model = settings.model() != null ? settings.model() : client.firstModel().orElse(null);
        long deadline = began + (long) (settings.deadlineSeconds() * NANOS_PER_SECOND);
        if (settings.warmupRequests() > 0) {
            int highest = settings.concurrencyLevels().stream().max(Integer::compare).orElseThrow();
            new LevelRun(settings, client, model, highest, deadline, clock, "warm-up c=" + highest)
                    .run(ServeWorkloads.warmup(settings), progress);
        }
        List<Level> levels = new ArrayList<>();
        for (int i = 0; i < settings.concurrencyLevels().size(); i++) {
            List<Conversation> conversations = ServeWorkloads.conversations(settings, i);
            int concurrency = settings.concurrencyLevels().get(i);
            levels.add(new LevelRun(settings, client, model, concurrency, deadline, clock, "serve c=" + concurrency)
                    .run(conversations, progress));
        }
        var result = new Result(settings.endpoint().toString(), model, settings.stream(), settings.workload(),
                levels);
        Map<String, Object> benchmarks = new LinkedHashMap<>();
        benchmarks.put(KEY, result);
        return new ServeResults(timestamp, (clock.getAsLong() - began) / NANOS_PER_SECOND, false,
                MachineInfo.current(), new ServeResults.ModelInfo(model == null ? "unknown" : model,
                settings.url(), null), new ServeResults.RunConfig(settings, "OpenAI-compatible server at "
                + settings.url()), benchmarks);
    }

    /**
     * The figures of one level from its requests' records.
     *
     * @param planned       requests planned
     * @param notSent       requests not sent (deadline)
     * @param durationNanos the level's wall time
     */
    public static Level summarize(int concurrency, int planned, Collection<RequestRecord> records, int notSent,
                                  long durationNanos) {
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2el = new ArrayList<>();
        Map<String, Integer> errors = new TreeMap<>();
        Map<String, String> examples = new TreeMap<>();
        int completed = 0;
        long prompt = 0;
        long output = 0;
        long cached = 0;
        long cachedPrompt = 0;
        int reported = 0;
        for (RequestRecord r : records) {
            if (!r.ok()) {
                errors.merge(r.error(), 1, Integer::sum);
                examples.putIfAbsent(r.error(), abbreviate(r.text()));
                continue;
            }
            completed++;
            prompt += r.promptTokens();
            output += r.outputTokens();
            e2el.add(r.e2eMs());
            if (r.hasFirstToken()) {
                ttft.add(r.ttftMs());
                for (double gap : r.itlMs()) {
                    itl.add(gap);
                }
            }
            if (r.hasTpot()) {
                tpot.add(r.tpotMs());
            }
            if (r.cachedTokensKnown()) {
                reported++;
                cached += r.cachedTokens();
                cachedPrompt += r.promptTokens();
            }
        }
        double seconds = durationNanos / NANOS_PER_SECOND;
        return new Level(concurrency, planned, completed, records.size() - completed, notSent, seconds,
                rate(completed, seconds), rate(output, seconds), rate(prompt + output, seconds), prompt, output,
                cached, reported, reported == 0 || cachedPrompt == 0 ? null : (double) cached / cachedPrompt,
                Distribution.of(ttft), Distribution.of(tpot), Distribution.of(itl), Distribution.of(e2el), errors,
                examples);
    }

    /** An error's words, cut to {@value #EXAMPLE_CHARS} characters on one line. */
    private static String abbreviate(String detail) {
        String line = detail.replaceAll("\\s+", " ").strip();
        return line.length() <= EXAMPLE_CHARS ? line : line.substring(0, EXAMPLE_CHARS) + "...";
    }

    private static double rate(double count, double seconds) {
        return seconds > 0 ? count / seconds : 0;
    }

    /** One level: its clients, the requests they send and their records. */
    private static final class LevelRun {
        private final ServeSettings settings;
        private final OpenAiClient client;
        private final String model;
        private final int concurrency;
        private final long deadline;
        private final LongSupplier clock;
        private final long timeoutNanos;
        private final Queue<RequestRecord> records = new ConcurrentLinkedQueue<>();
        private final AtomicInteger notSent = new AtomicInteger();
        private final String label;

        LevelRun(ServeSettings settings, OpenAiClient client, String model, int concurrency, long deadline,
                 LongSupplier clock, String label) {
            this.label = label;
            this.settings = settings;
            this.client = client;
            this.model = model;
            this.concurrency = concurrency;
            this.deadline = deadline;
            this.clock = clock;
            this.timeoutNanos = (long) (settings.timeoutSeconds() * NANOS_PER_SECOND);
        }

        Level run(List<Conversation> conversations, Progress progress) {
            int planned = conversations.stream().mapToInt(c -> c.userTurns().size()).sum();
            progress.begin(label, planned);
            Queue<Conversation> queue = new ConcurrentLinkedQueue<>(conversations);
            long start = clock.getAsLong();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                clients.add(Thread.ofVirtual().name("bench-serve-client-" + c).start(() -> serve(queue, progress)));
            }
            for (Thread thread : clients) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    clients.forEach(Thread::interrupt);
                    throw new IllegalStateException("bench serve interrupted", e);
                }
            }
            long duration = clock.getAsLong() - start;
            progress.end();
            return summarize(concurrency, planned, records, notSent.get(), duration);
        }

        /** One client: conversations from the queue until it is empty, each turn after the last. */
        private void serve(Queue<Conversation> queue, Progress progress) {
            for (Conversation conversation; (conversation = queue.poll()) != null; ) {
                List<String> answers = new ArrayList<>();
                int turns = conversation.userTurns().size();
                for (int t = 0; t < turns; t++) {
                    if (clock.getAsLong() >= deadline || Thread.currentThread().isInterrupted()) {
                        notSent.addAndGet(turns - t);
                        progress.advance(turns - t);
                        break;
                    }
                    RequestRecord record = request(OpenAiClient.body(settings, model, conversation, t, answers));
                    records.add(record);
                    answers.add(record.text());
                    progress.advance(1);
                }
            }
        }

        /**
         * One request on a platform thread of its own (a chunk arriving wakes that thread directly, where a virtual
         * thread waits for the JDK's poller and then a carrier), abandoned at the timeout or the deadline,
         * whichever is first.
         */
        private RequestRecord request(ObjectNode body) {
            OpenAiClient.Call call = client.call(settings.endpoint(), body, settings.stream(), settings.chat());
            var task = new FutureTask<>(call::run);
            long sent = clock.getAsLong();
            Thread.ofPlatform().daemon().name("bench-serve-request").start(task);
            long untilDeadline = deadline - sent;
            boolean deadlineFirst = untilDeadline < timeoutNanos;
            try {
                return task.get(Math.max(0, deadlineFirst ? untilDeadline : timeoutNanos), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                call.abort();
                task.cancel(true);
                return RequestRecord.failed(sent, clock.getAsLong(),
                        (deadlineFirst ? ErrorKind.DEADLINE : ErrorKind.TIMEOUT).key(), "no answer within "
                                + TimeUnit.NANOSECONDS.toMillis(deadlineFirst ? untilDeadline : timeoutNanos) + " ms");
            } catch (InterruptedException e) {
                call.abort();
                task.cancel(true);
                Thread.currentThread().interrupt();
                return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.DEADLINE.key(), "interrupted");
            } catch (ExecutionException e) {
                throw new IllegalStateException("bench serve: a request failed unexpectedly", e.getCause());
            }
        }
    }
}
