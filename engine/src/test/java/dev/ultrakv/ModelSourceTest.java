package dev.ultrakv;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.model.synthetic.SyntheticShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model source names its model precisely (the cache's model identity) and loads it when the engine starts. */
class ModelSourceTest {
    @TempDir
    Path dir;

    @Test
    void differentModelsHaveDifferentIdentities() {
        Set<String> ids = Set.of(ModelSource.embedded().description(),
                ModelSource.synthetic(SyntheticShape.TEST_SMALL, 1).description(),
                ModelSource.synthetic(SyntheticShape.TEST_SMALL, 2).description(),
                ModelSource.synthetic("test-tiny", 1).description(),
                ModelSource.file(dir.resolve("a.gguf")).description(),
                ModelSource.file(dir.resolve("a.bin"), dir.resolve("tok.bin")).description());
        assertEquals(6, ids.size(), ids.toString());
        assertEquals(ModelSource.synthetic("test-small", 1), ModelSource.synthetic(SyntheticShape.TEST_SMALL, 1));
        assertEquals(ModelSource.file(dir.resolve("x/../a.gguf")), ModelSource.file(dir.resolve("a.gguf")));
    }

    @Test
    void anUnknownSyntheticShapeIsRefusedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelSource.synthetic("huge", 1));
        assertTrue(e.getMessage().contains("huge"), e.getMessage());
    }

    @Test
    void aMissingModelFileFailsTheEngineNamingTheFile() {
        Path missing = dir.resolve("missing.gguf");
        var config = KVCacheConfig.builder().model(ModelSource.file(missing)).build();
        var e = assertThrows(ModelFormatException.class, () -> new UltraAdaptiveKVCacheEngine(config));
        assertTrue(e.getMessage().contains("missing.gguf"), e.getMessage());
    }

    @Test
    void aSyntheticModelServesRequests() {
        var config = KVCacheConfig.builder().model(ModelSource.synthetic("test-tiny", 3)).maxTokens(512).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            RequestResult r = engine.processRequest(Request.builder().text("abc").maxNewTokens(4).build()).join();
            assertTrue(r.promptTokens() > 1);
            assertTrue(engine.processRequest(Request.builder().text("abc").maxNewTokens(4).build()).join()
                    .cacheHit());
        }
    }
}
