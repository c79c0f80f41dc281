package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Only the subcommand a command line names is built; help and typos still see every one. */
class SubcommandRegistrationTest {

    @Test
    void everySubcommandIsFoundByItsName() {
        for (Class<?> subcommand : UltraKvCli.SUBCOMMANDS) {
            String name = subcommand.getAnnotation(Command.class).name();
            assertSame(subcommand, UltraKvCli.subcommandNamed(name), name);
        }
        assertNull(UltraKvCli.subcommandNamed("--help"));
        assertNull(UltraKvCli.subcommandNamed("generat"));
    }

    @Test
    void theRootHelpListsEverySubcommand() {
        CliRun run = CliRun.of("--help");
        assertEquals(0, run.exitCode(), run.err());
        for (Class<?> subcommand : UltraKvCli.SUBCOMMANDS) {
            String name = subcommand.getAnnotation(Command.class).name();
            assertTrue(run.out().contains("  " + name + " "), name + " missing from: " + run.out());
        }
    }

    @Test
    void aNamedSubcommandRunsWithItsOwnHelp() {
        CliRun run = CliRun.of("generate", "--help");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("Usage: ultrakv generate"), run.out());
    }

    @Test
    void aMistypedSubcommandIsRefusedWithASuggestion() {
        CliRun run = CliRun.of("generat", "--prompt", "x");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("generate"), run.err());
    }
}
