package dev.ultrakv.cli;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.server.ServeCommand;
import dev.ultrakv.tokenizer.TokenizerFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Entry point of the {@code ultrakv} command. Every failure ends with one line {@code ultrakv: ...} on stderr
 * and exit code 1 (2 for usage errors), never a stack trace: user mistakes (a bad option, a missing or
 * malformed file) and broken models say what is wrong, running out of memory says what to change, and bugs
 * say where they were thrown.
 */
@Command(name = "ultrakv", mixinStandardHelpOptions = true, versionProvider = UltraKvCli.Version.class,
        description = "UltraKV: an LLM inference engine built around an adaptive KV cache.")
public final class UltraKvCli {
    /** Exit code for a user mistake found while running (as opposed to a usage error, 2). */
    static final int EXIT_USER_ERROR = 1;
    /**
     * The subcommands, in the order the help lists them. Only the one a command line names is built (see
     * {@link #run}): picocli reads every option of a command by reflection when it builds it, and building all of
     * them took about as long as the JVM's own start.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(GenerateCommand.class, ChatCommand.class,
            TemplateCommand.class, InfoCommand.class, TokenizeCommand.class, SynthCommand.class,
            QuantizeCommand.class, BenchCommand.class, QualityCommand.class, SimulateCommand.class,
            ServeCommand.class);

    private UltraKvCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code. */
    public static int run(String... args) {
        CommandLine cmd = new CommandLine(new UltraKvCli());
        Class<?> named = args.length == 0 ? null : subcommandNamed(args[0]);
        // A line that names no subcommand (help, a typo) gets all of them, for the list and the suggestions.
        for (Class<?> subcommand : named == null ? SUBCOMMANDS : List.of(named)) {
            cmd.addSubcommand(subcommand);
        }
        cmd.setExecutionExceptionHandler(UltraKvCli::handle); // after the subcommands: it applies to those present
        try {
            return cmd.execute(args);
        } catch (Error e) {
            // picocli lets Errors through; OutOfMemoryError from a big context or -n ends here too.
            return report(cmd.getErr(), e);
        }
    }

    /** The subcommand whose {@code @Command} name is {@code name}, or null. */
    static Class<?> subcommandNamed(String name) {
        for (Class<?> subcommand : SUBCOMMANDS) {
            if (subcommand.getAnnotation(Command.class).name().equals(name)) {
                return subcommand;
            }
        }
        return null;
    }

    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        return report(cmd.getErr(), e);
    }

    /** Prints the one line that {@link #errorLine} makes for {@code e} and returns the exit code, 1. */
    private static int report(PrintWriter err, Throwable e) {
        err.println(errorLine(e));
        err.flush();
        return EXIT_USER_ERROR;
    }

    /**
     * The single line a failure is shown as, never a stack trace: the message of a user's mistake (a bad option,
     * a missing or malformed file, a model that computes NaN), a hint for running out of memory, or the
     * exception and where it was thrown for what can only be a bug.
     */
    static String errorLine(Throwable e) {
        if (e instanceof ModelFormatException || e instanceof IllegalArgumentException
                || e instanceof UncheckedIOException || e instanceof TokenizerFormatException
                || e instanceof NonFiniteLogitsException) {
            return "ultrakv: " + e.getMessage();
        }
        if (e instanceof OutOfMemoryError) {
            String what = e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
            return "ultrakv: out of memory" + what + ": use a smaller --context-length, --max-tokens or model,"
                    + " or give Java more memory, e.g. JDK_JAVA_OPTIONS=-Xmx8g";
        }
        if (e instanceof StackOverflowError) {
            return "ultrakv: internal error (please report): stack overflow" + where(e)
                    + "; a larger stack may help, e.g. JDK_JAVA_OPTIONS=-Xss16m";
        }
        return "ultrakv: internal error (please report): " + e + where(e);
    }

    /** " at Class.method(File.java:12)", the frame that threw, or nothing when unknown. */
    private static String where(Throwable e) {
        StackTraceElement[] trace = e.getStackTrace();
        return trace.length == 0 ? "" : " at " + trace[0];
    }

    /** Prints the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = UltraKvCli.class.getPackage().getImplementationVersion();
            return new String[] {"ultrakv " + (v == null ? "development build" : v)};
        }
    }
}
