package dev.ultrakv.model;

/**
 * Which two elements of a head rotary position embedding turns together by the angle of pair {@code i}
 * (frequency {@code theta^(-2i / headSize)}). Families differ: llama.cpp calls the first NORM and the second NEOX.
 */
public enum RopeStyle {
    /** Elements {@code 2i} and {@code 2i + 1}: Llama, Mistral. */
    ADJACENT_PAIRS,
    /** Elements {@code i} and {@code i + headSize / 2}: GPT-NeoX, Qwen 2 and 3, Phi-3, Gemma. */
    HALVES
}
