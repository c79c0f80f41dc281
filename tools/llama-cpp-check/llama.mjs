// llama.cpp side of the cross-check (prebuilt CPU llama.cpp from node-llama-cpp 3.21.1).
//   node llama.mjs tokenize MODEL.gguf PROMPT...
//   node llama.mjs generate MODEL.gguf MAX_TOKENS CONTEXT PROMPT...
// Prints one JSON object per prompt on stdout: {prompt, promptTokens, tokens, margins, text, stop}.
// Tokenization is llama.cpp's: BOS when the model asks for it, then the text (SentencePiece space prefix
// added by llama.cpp itself). Generation is greedy (temperature 0, no penalties, no other samplers)
// with an F32 KV cache. It stops at MAX_TOKENS or, like UltraKV (and llama2.c's run.c), when the argmax is BOS or
// an end-of-generation token (llama.cpp itself would not stop at BOS): stop is then "end:ID".
// margins[i] is ln(p1/p2) = logit(top1) - logit(top2) at step i, from llama.cpp's softmax probabilities.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [mode, modelPath, ...rest] = process.argv.slice(2);
if (!["tokenize", "generate"].includes(mode) || !modelPath) {
    console.error("usage: node llama.mjs tokenize MODEL PROMPT... | generate MODEL MAX_TOKENS CONTEXT PROMPT...");
    process.exit(2);
}
const kvType = process.env.KV_TYPE ?? "F32"; // KV_TYPE=F16 shows llama.cpp's default cache instead
const unescape = (s) => s.replace(/\\n/g, "\n").replace(/\\t/g, "\t");

// One thread: this machine has 2 cores, and llama.cpp's default (4) spin-waits so much that 30 tokens take a minute.
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, maxThreads: 1,
    logLevel: process.env.LOG_LEVEL ?? LlamaLogLevel.error, // LOG_LEVEL=warn (or info) shows llama.cpp's load messages
    logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}`)});
const model = await llama.loadModel({modelPath, gpuLayers: 0});

function promptTokens(text) {
    const bos = model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
    return [...bos, ...model.tokenize(text, false)];
}

if (mode === "tokenize") {
    for (const raw of rest) {
        const prompt = unescape(raw);
        console.log(JSON.stringify({prompt, promptTokens: promptTokens(prompt)}));
    }
} else {
    const maxTokens = Number(rest[0]);
    const contextSize = Number(rest[1]);
    for (const raw of rest.slice(2)) {
        const prompt = unescape(raw);
        const input = promptTokens(prompt);
        const context = await model.createContext({contextSize, batchSize: Math.max(input.length, 1), sequences: 1, threads: 1,
            flashAttention: false, experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType});
        const sequence = context.getSequence();
        const tokens = [], margins = [];
        let stop = "max_tokens";
        // Temperature 1 with every filter off gives the full softmax; we take its argmax ourselves (greedy) and
        // feed it back, so the logit margin of each step is known.
        const gen = sequence.evaluateWithMetadata(input, {probabilities: true},
            {temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1, yieldEogToken: true});
        let result = await gen.next();
        while (!result.done) {
            const entries = [...result.value.probabilities.entries()];
            let best = entries[0], second = [undefined, 0];
            for (const e of entries) if (e[1] > best[1] || (e[1] === best[1] && e[0] < best[0])) best = e;
            for (const e of entries) if (e[0] !== best[0] && e[1] > second[1]) second = e;
            const token = best[0];
            if (token === model.tokens.bos || model.isEogToken(token)) { stop = `end:${token}`; break; }
            tokens.push(token);
            margins.push(second[1] > 0 ? Math.log(best[1] / second[1]) : Infinity);
            if (tokens.length >= maxTokens) break;
            result = await gen.next(token);
        }
        await gen.return();
        console.log(JSON.stringify({prompt, promptTokens: input, tokens, margins: margins.map((m) => +m.toFixed(4)),
            text: model.detokenize(tokens, false, input), stop}));
        await context.dispose();
    }
}
await model.dispose();
await llama.dispose();
