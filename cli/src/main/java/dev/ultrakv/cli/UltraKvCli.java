package dev.ultrakv.cli;

/** Entry point of the {@code ultrakv} command. */
public final class UltraKvCli {
    private UltraKvCli() {
    }

    public static void main(String[] args) {
        System.exit(0);
    }
}
