package dev.ultrakv.kvcache.tier;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The identity of one full KV block below the memory pool: a SHA-256 chained over the namespace (model id and
 * block layout) and the tokens of every block up to and including this one, as vLLM's and LMCache's block
 * hashes are. Two engines with the same model, the same codec and layout and the same prefix compute the same key,
 * so a block one of them stored is found by the other; a different model or codec never shares a key.
 *
 * <p>The memory tier compares tokens exactly ({@code PrefixIndex}); a tier compares 256-bit digests, where a
 * collision is as unlikely as one of SHA-256 itself.
 */
public final class BlockKey {
    /** Bytes of a key: a SHA-256 digest. */
    public static final int BYTES = 32;
    private static final HexFormat HEX = HexFormat.of();

    private final byte[] digest;
    private final int hash;

    private BlockKey(byte[] digest) {
        this.digest = digest;
        this.hash = Arrays.hashCode(digest);
    }

    /**
     * The key of the first block of a prefix.
     *
     * @param namespace what the block's bytes depend on besides its tokens: model id and layout (see
     *                  {@link BlockRecord#namespace})
     * @param tokens    the sequence's tokens; the block holds {@code tokens[from, to)}
     */
    public static BlockKey first(String namespace, int[] tokens, int from, int to) {
        MessageDigest sha = sha256();
        byte[] name = namespace.getBytes(StandardCharsets.UTF_8);
        updateInt(sha, name.length);
        sha.update(name);
        return new BlockKey(finish(sha, tokens, from, to));
    }

    /** The key of the block after this one, holding {@code tokens[from, to)}. */
    public BlockKey next(int[] tokens, int from, int to) {
        MessageDigest sha = sha256();
        sha.update(digest);
        return new BlockKey(finish(sha, tokens, from, to));
    }

    /** The key whose digest is {@code digest} (32 bytes), as a tier read it back. */
    public static BlockKey ofDigest(byte[] digest) {
        if (digest.length != BYTES) {
            throw new IllegalArgumentException("a block key has " + BYTES + " bytes, not " + digest.length);
        }
        return new BlockKey(digest.clone());
    }

    /** The keys of every full block of {@code tokens[0, tokenCount)}, in order. */
    public static BlockKey[] chain(String namespace, int[] tokens, int tokenCount, int blockSize) {
        Objects.checkFromIndexSize(0, tokenCount, tokens.length);
        BlockKey[] keys = new BlockKey[tokenCount / blockSize];
        for (int b = 0; b < keys.length; b++) {
            int from = b * blockSize;
            keys[b] = b == 0 ? first(namespace, tokens, from, from + blockSize)
                    : keys[b - 1].next(tokens, from, from + blockSize);
        }
        return keys;
    }

    /** A copy of the 32 digest bytes. */
    public byte[] digest() {
        return digest.clone();
    }

    /** Writes the digest into {@code out} at {@code offset}. */
    public void copyTo(byte[] out, int offset) {
        System.arraycopy(digest, 0, out, offset, BYTES);
    }

    /** Whether {@code bytes[offset, offset + 32)} is this key's digest. */
    public boolean matches(byte[] bytes, int offset) {
        return Arrays.equals(digest, 0, BYTES, bytes, offset, offset + BYTES);
    }

    /** The first eight digest bytes as a long: a fingerprint for bounded sets of keys (see {@link KnownKeys}). */
    long fingerprint() {
        return ByteBuffer.wrap(digest).getLong();
    }

    /** The digest in lower-case hex: 64 characters, usable as a file or Redis key name. */
    public String hex() {
        return HEX.formatHex(digest);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BlockKey key && Arrays.equals(digest, key.digest);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return hex().substring(0, 16);
    }

    private static byte[] finish(MessageDigest sha, int[] tokens, int from, int to) {
        Objects.checkFromToIndex(from, to, tokens.length);
        byte[] bytes = new byte[Integer.BYTES * (1 + to - from)];
        ByteBuffer buffer = ByteBuffer.wrap(bytes).putInt(to - from);
        for (int i = from; i < to; i++) {
            buffer.putInt(tokens[i]);
        }
        sha.update(bytes);
        return sha.digest();
    }

    private static void updateInt(MessageDigest sha, int value) {
        sha.update(ByteBuffer.allocate(Integer.BYTES).putInt(value).array());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
