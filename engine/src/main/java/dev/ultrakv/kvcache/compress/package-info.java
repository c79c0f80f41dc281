/**
 * K/V compression decisions: which entries of a sequence stay when it holds more than its share of positions.
 * {@link dev.ultrakv.kvcache.compress.KvCompressor#create} builds one per sequence for a
 * {@link dev.ultrakv.kvcache.compress.CompressionMethod} (StreamingLLM, H2O or SnapKV); the store reports
 * attention to it, asks it which entries to keep and applies the answer. See {@code docs/compression.md}.
 */
package dev.ultrakv.kvcache.compress;
