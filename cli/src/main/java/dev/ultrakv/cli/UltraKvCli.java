package dev.ultrakv.cli;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.tokenizer.TokenizerFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * Entry point of the {@code ultrakv} command. User mistakes (a bad option, a missing or malformed file) end
 * with one clear line on stderr and exit code 1 (2 for usage errors), never a stack trace.
 */
@Command(name = "ultrakv", mixinStandardHelpOptions = true, versionProvider = UltraKvCli.Version.class,
        description = "UltraKV: an LLM inference engine built around an adaptive KV cache.",
        subcommands = {GenerateCommand.class, InfoCommand.class, SynthCommand.class, BenchCommand.class,
                QualityCommand.class})
public final class UltraKvCli {
    /** Exit code for a user mistake found while running (as opposed to a usage error, 2). */
    static final int EXIT_USER_ERROR = 1;

    private UltraKvCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code. */
    public static int run(String... args) {
        CommandLine cmd = new CommandLine(new UltraKvCli());
        cmd.setExecutionExceptionHandler(UltraKvCli::handle);
        return cmd.execute(args);
    }

    private static int handle(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        if (e instanceof ModelFormatException || e instanceof IllegalArgumentException
                || e instanceof UncheckedIOException || e instanceof TokenizerFormatException) {
            err.println("ultrakv: " + e.getMessage());
            err.flush();
            return EXIT_USER_ERROR;
        }
        err.println("ultrakv: internal error (please report): " + e);
        e.printStackTrace(err);
        err.flush();
        return cmd.getCommandSpec().exitCodeOnExecutionException();
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
