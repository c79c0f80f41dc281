package dev.ultrakv.cli;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.gguf.GgufWriter;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SequencedMap;

/** Synthetic test-tiny GGUF models (random weights, BOS {@code <s>}, EOS {@code </s>}) with a chosen template. */
final class TinyModels {
    private TinyModels() {
    }

    /** Writes a test-tiny model whose metadata carries {@code template} (no template when null). */
    static void write(Path path, String template) throws IOException {
        SequencedMap<String, GgufValue> metadata = SyntheticModel.metadata(SyntheticShape.TEST_TINY, GgmlType.F32);
        if (template != null) {
            metadata.put("tokenizer.chat_template", GgufValue.string(template));
        }
        try (GgufFile file = SyntheticModel.create(SyntheticShape.TEST_TINY, GgmlType.F32, 1)) {
            GgufWriter.write(path, metadata, file.tensors(), (tensor, out) -> {
                ByteBuffer bytes = file.tensorData(tensor).asByteBuffer();
                while (bytes.hasRemaining()) {
                    out.write(bytes);
                }
            });
        }
    }
}
