package dev.ultrakv.kvcache.index;

/**
 * What {@link PrefixIndex#insert} did with a finished request's blocks. After an insert the caller owns none of
 * the blocks it passed: each is either cached (the index owns it, now or already) or was given back through the
 * index's release callback. The figures are for statistics and tests; the caller has nothing more to free.
 *
 * @param adoptedBlocks    blocks of the caller that the index now owns (new content)
 * @param duplicateBlocks  blocks of the caller given back because the same content was already cached, in
 *                         sequence order (a different block id for content another request cached first)
 * @param supersededBlocks cached partial blocks made redundant by a longer block with the same beginning: given
 *                         back now, or as soon as the last request pinning them unpins
 */
public record InsertResult(int adoptedBlocks, int[] duplicateBlocks, int supersededBlocks) {
}
