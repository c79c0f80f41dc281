package dev.ultrakv.model.llama2c;

import dev.ultrakv.model.ModelFormatException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A checkpoint header with extreme values is read or refused by its size, never allocated from. */
class Llama2cCheckpointTest {
    private static final Path STORIES = Path.of("../models/stories260K.bin");
    private static final Path SOURCE = Path.of("mutant.bin");
    private static final String[] FIELDS = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
        "seq_len"};
    private static final int[] EXTREMES = {0, 1, -1, 2, Integer.MAX_VALUE, Integer.MIN_VALUE, 100_000_000, 1 << 30};

    @Test
    void headerWhoseSizesOverflowALong_isRefusedNamingTheHeader() {
        ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {1 << 30, 1 << 30, 1 << 30, 2, 2, 1 << 30, 1}) {
            header.putInt(v);
        }
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Llama2cCheckpoint.read(MemorySegment.ofArray(header.array()), SOURCE));
        assertTrue(e.getMessage().contains("more than 2^63 bytes"), e.getMessage());
    }

    @Test
    void everyHeaderFieldAtEveryExtreme_isReadOrRefusedClearly() throws IOException {
        byte[] original = Files.readAllBytes(STORIES);
        int read = 0;
        for (int field = 0; field < FIELDS.length; field++) {
            for (int value : EXTREMES) {
                byte[] mutant = original.clone();
                ByteBuffer.wrap(mutant).order(ByteOrder.LITTLE_ENDIAN).putInt(4 * field, value);
                try {
                    Llama2cCheckpoint.read(MemorySegment.ofArray(mutant), SOURCE);
                    read++;
                } catch (ModelFormatException e) {
                    assertTrue(e.getMessage().startsWith(SOURCE + ": "), FIELDS[field] + " = " + value + ": " + e);
                }
            }
        }
        // Only values that leave the shapes fitting the file can load (a shorter seq_len, a negative vocab_size
        // read as a separate classifier, ...); most are refused.
        assertTrue(read < FIELDS.length * EXTREMES.length / 2, "read " + read);
    }

    @Test
    void original_isRead() throws IOException {
        Llama2cCheckpoint c = Llama2cCheckpoint.read(MemorySegment.ofArray(Files.readAllBytes(STORIES)), SOURCE);
        assertEquals(512, c.config().vocabularySize());
    }
}
