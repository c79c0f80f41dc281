package dev.ultrakv.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pre-tokenizers of byte-level BPE vocabularies, chosen by GGUF's {@code tokenizer.ggml.pre} as llama.cpp
 * (src/llama-vocab.cpp, commit c392e5094) chooses them: each is a list of regexes applied one after another, each
 * cutting the pieces the one before it left (see {@link SplitStep}). The names and regexes are llama.cpp's; two
 * regexes run on hand-written matchers as in llama.cpp ({@link Gpt2Split}, {@link Llama3Split}), the others on
 * Java's regex engine made to cut as llama.cpp's does ({@link RegexSplit}).
 *
 * <h2>Left out</h2>
 * Names that llama.cpp learnt after that commit ({@code gpt-4o}, ...) are unknown here, as they are to it; they are
 * refused rather than guessed. ChatGLM-4's "no BOS" and llama.cpp's {@code clean_spaces} (a decoding option) are
 * not carried.
 */
public enum PreTokenizer {
    /** llama.cpp's fallback, also for a vocabulary without {@code tokenizer.ggml.pre}. */
    DEFAULT(names("default"), Regexes.DEFAULT),
    /** Llama 3: whole-word tokens skip the merges, and BOS is added by default. */
    LLAMA3(names("llama3", "llama-v3", "llama-bpe", "falcon3"), Regexes.LLAMA3, true, true),
    DEEPSEEK_LLM(names("deepseek-llm"), Regexes.DEEPSEEK_LLM),
    DEEPSEEK3_LLM(names("deepseek-v3"), Regexes.DEEPSEEK3_LLM),
    DEEPSEEK_CODER(names("deepseek-coder"), Regexes.DEEPSEEK_CODER),
    FALCON(names("falcon"), Regexes.FALCON),
    MPT(names("mpt"), Regexes.GPT2),
    STARCODER(names("starcoder"), Regexes.STARCODER),
    GPT2(names("gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de",
            "jina-v2-code", "roberta-bpe"), Regexes.GPT2),
    REFACT(names("refact"), Regexes.STARCODER),
    COMMAND_R(names("command-r"), Regexes.STARCODER),
    QWEN2(names("qwen2", "deepseek-r1-qwen", "megrez"), Regexes.QWEN2),
    STABLELM2(names("stablelm2"), Regexes.QWEN2),
    OLMO(names("olmo"), Regexes.GPT2),
    DBRX(names("dbrx"), Regexes.LLAMA3),
    SMAUG(names("smaug-bpe"), Regexes.LLAMA3),
    PORO(names("poro-chat"), Regexes.BLOOM),
    CHATGLM4(names("chatglm-bpe"), Regexes.LLAMA3),
    VIKING(names("viking"), Regexes.VIKING),
    JAIS(names("jais"), Regexes.GPT2),
    /** Mistral's Tekken: whole-word tokens skip the merges. */
    TEKKEN(names("tekken"), Regexes.TEKKEN, true, false),
    SMOLLM(names("smollm"), Regexes.STARCODER),
    CODESHELL(names("codeshell"), Regexes.STARCODER),
    BLOOM(names("bloom"), Regexes.BLOOM),
    GPT3_FINNISH(names("gpt3-finnish"), Regexes.BLOOM),
    EXAONE(names("exaone"), Regexes.STARCODER),
    /** Chameleon: BOS is added by default. */
    CHAMELEON(names("chameleon"), Regexes.CHAMELEON, false, true),
    MINERVA(names("minerva-7b"), Regexes.STARCODER);

    private static final Map<String, PreTokenizer> BY_NAME = byName();

    private final List<String> ggufNames;
    private final List<String> regexes;
    private final boolean ignoresMerges;
    private final boolean addsBos;
    /** Made on first use: most runs need one pre-tokenizer, and some patterns are large. */
    private volatile List<SplitStep> steps;

    PreTokenizer(List<String> ggufNames, List<String> regexes) {
        this(ggufNames, regexes, false, false);
    }

    PreTokenizer(List<String> ggufNames, List<String> regexes, boolean ignoresMerges, boolean addsBos) {
        this.ggufNames = ggufNames;
        this.regexes = regexes;
        this.ignoresMerges = ignoresMerges;
        this.addsBos = addsBos;
    }

    /**
     * The pre-tokenizer that GGUF's {@code tokenizer.ggml.pre} names; {@code null} or empty means {@link #DEFAULT},
     * as in llama.cpp.
     *
     * @throws TokenizerFormatException naming the value and listing the known names, if it names none
     */
    public static PreTokenizer forName(String name) {
        if (name == null || name.isEmpty()) {
            return DEFAULT;
        }
        PreTokenizer pre = BY_NAME.get(name);
        if (pre == null) {
            throw new TokenizerFormatException("tokenizer.ggml.pre = '" + name + "' is a pre-tokenizer this program"
                    + " does not know (known: " + String.join(", ", BY_NAME.keySet()) + ")");
        }
        return pre;
    }

    /** The values of {@code tokenizer.ggml.pre} that select this pre-tokenizer. */
    public List<String> ggufNames() {
        return ggufNames;
    }

    /** The regexes, in the order they are applied. */
    public List<String> regexes() {
        return regexes;
    }

    /** Whether a piece that is a token as a whole becomes that token without merging (llama.cpp's ignore_merges). */
    public boolean ignoresMerges() {
        return ignoresMerges;
    }

    /** Whether llama.cpp adds BOS for this pre-tokenizer when the vocabulary does not say. */
    public boolean addsBosByDefault() {
        return addsBos;
    }

    /** Cuts {@code text} into the pieces that BPE then tokenizes one by one; they join to give back the text. */
    public List<String> split(String text) {
        int[] codePoints = text.codePoints().toArray();
        SplitText splitText = new SplitText(codePoints);
        int[] lengths = codePoints.length == 0 ? new int[0] : new int[] {codePoints.length};
        for (SplitStep step : steps()) {
            IntList next = new IntList();
            int start = 0;
            for (int length : lengths) {
                step.split(splitText, start, start + length, next::add);
                start += length;
            }
            lengths = next.toArray();
        }
        List<String> pieces = new ArrayList<>(lengths.length);
        int start = 0;
        for (int i = 0; i < lengths.length; i++) {
            pieces.add(new String(codePoints, start, lengths[i]));
            start += lengths[i];
        }
        return pieces;
    }

    private List<SplitStep> steps() {
        List<SplitStep> s = steps;
        if (s == null) {
            List<SplitStep> made = new ArrayList<>();
            for (String regex : regexes) {
                made.add(switch (regex) {
                    case Regexes.GPT2_REGEX -> new Gpt2Split();
                    case Regexes.LLAMA3_REGEX, Regexes.LLAMA3_ORIGINAL_REGEX -> new Llama3Split();
                    default -> RegexSplit.of(regex);
                });
            }
            s = List.copyOf(made);
            steps = s;
        }
        return s;
    }

    private static List<String> names(String... names) {
        return List.of(names);
    }

    private static Map<String, PreTokenizer> byName() {
        Map<String, PreTokenizer> map = new LinkedHashMap<>();
        for (PreTokenizer pre : values()) {
            for (String name : pre.ggufNames) {
                map.put(name, pre);
            }
        }
        return map;
    }

    /** llama.cpp's regex lists (llama-vocab.cpp, {@code llm_tokenizer_bpe}), in its escaping, which is Java's. */
    private static final class Regexes {
        static final String GPT2_REGEX =
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
        static final String LLAMA3_REGEX =
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1"
                        + ",3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        /** Llama 3's regex as its tokenizer.json spells it; llama.cpp's matcher takes this spelling too. */
        static final String LLAMA3_ORIGINAL_REGEX =
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                        + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

        static final List<String> GPT2 = List.of(GPT2_REGEX);
        static final List<String> LLAMA3 = List.of(LLAMA3_REGEX);
        static final List<String> DEFAULT = List.of(
                "[\\p{P}\\$\\+<=>\\^~\\|]+",
                GPT2_REGEX,
                "\\p{N}+",
                "[0-9][0-9][0-9]");
        static final List<String> DEEPSEEK_LLM = List.of(
                "[\r\n]",
                "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-"
                        + "\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1"
                        + "\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-"
                        + "\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18"
                        + "-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4"
                        + "\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2"
                        + "-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-"
                        + "\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-"
                        + "\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-"
                        + "\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801"
                        + "\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803"
                        + "\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-\uD83A\uDD43]+",
                "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
                "\\s+$",
                "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
                "\\p{N}+");
        static final List<String> DEEPSEEK3_LLM = List.of(
                "\\p{N}{1,3}",
                "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p"
                        + "{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+");
        static final List<String> DEEPSEEK_CODER = List.of(
                "[\r\n]",
                "\\s?\\p{L}+",
                "\\s?\\p{P}+",
                "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
                "\\p{N}");
        static final List<String> FALCON = List.of(
                "[\\p{P}\\$\\+<=>\\^~\\|`]+",
                GPT2_REGEX,
                "[0-9][0-9][0-9]");
        static final List<String> STARCODER = List.of(
                "\\p{N}",
                GPT2_REGEX);
        static final List<String> QWEN2 = List.of(
                "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                        + "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        static final List<String> BLOOM = List.of(
                " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+");
        static final List<String> VIKING = List.of(
                " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+",
                "\\p{N}");
        static final List<String> TEKKEN = List.of(
                "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
                        + "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
                        + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
        static final List<String> CHAMELEON = List.of(
                "<sentinel:[0-9]+>",
                "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                "([\\t\\n]|    |  )",
                "\\p{N}",
                "[\\p{P}!-/:-@\\[-`{-~]",
                GPT2_REGEX);

        private Regexes() {
        }
    }
}
