// Runs llama.cpp (llama.mjs) and UltraKV (OurTokens.java) on the same model and prompts and compares token ids.
//   node compare.mjs tokenize MODEL.gguf PROMPT...
//   node compare.mjs generate MODEL.gguf MAX_TOKENS CONTEXT PROMPT...
// Prompts may use \n and \t. Prints one line per prompt (AGREE or DIFFER, with the first divergence and both
// sides' logit margins there) and exits 1 if any prompt differs. Needs engine/target/classes (see README.md).
import {execFileSync} from "node:child_process";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin/java") : "java";
const args = process.argv.slice(2);
if (args[1]) args[1] = path.resolve(args[1]); // the two sides run in different folders
const run = (cmd, argv, cwd) => execFileSync(cmd, argv, {cwd, encoding: "utf8", maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "pipe"]}).trim().split("\n").map((l) => JSON.parse(l));

const theirs = run("node", [path.join(here, "llama.mjs"), ...args], here);
const javaArgs = ["--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-cp", "engine/target/classes", path.join(here, "OurTokens.java")];
const ours = run(java, [...javaArgs, ...args], root);

const key = args[0] === "tokenize" ? "promptTokens" : "tokens";
let failures = 0;
ours.forEach((u, n) => {
    const l = theirs[n];
    const label = `${path.basename(args[1])} ${JSON.stringify(u.prompt)}`;
    const promptSame = JSON.stringify(u.promptTokens) === JSON.stringify(l.promptTokens);
    const a = u[key], b = l[key];
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    const same = promptSame && i === a.length && i === b.length && (key === "promptTokens" || u.stop === l.stop);
    if (!same) failures++;
    let line = `${same ? "AGREE " : "DIFFER"} ${label}: `;
    if (!promptSame && key === "tokens") {
        line += `prompt tokens differ: ultrakv ${JSON.stringify(u.promptTokens)} llama.cpp ${JSON.stringify(l.promptTokens)}`;
    } else if (key === "promptTokens") {
        line += same ? JSON.stringify(a) : `first difference at ${i}: ultrakv ${JSON.stringify(a)} llama.cpp ${JSON.stringify(b)}`;
    } else {
        const minMargin = (m, k) => Math.min(...m.slice(0, k)).toFixed(4);
        line += same ? `${a.length} tokens identical (stop ${u.stop}; smallest margin ultrakv ${minMargin(u.margins, a.length)},`
            + ` llama.cpp ${minMargin(l.margins, b.length)})`
            : `${i} of ${Math.max(a.length, b.length)} tokens identical; at position ${i}: ultrakv ${a[i] ?? u.stop}`
            + ` (margin ${u.margins[i]}) vs llama.cpp ${b[i] ?? l.stop} (margin ${l.margins[i]})`;
    }
    console.log(line);
    if (!same && promptSame && key === "tokens") {
        // Feed llama.cpp's continuation (and its end token, if it stopped at one) to UltraKV: a near-tie flip
        // shows as a few mismatches with gaps far below the logit spread; a real bug as many, with large gaps.
        const forced = [...b, ...(l.stop.startsWith("end:") ? [Number(l.stop.slice(4))] : [])];
        const [f] = run(java, [...javaArgs, "force", args[1], args[3], args[4 + n], forced.join(",")], root);
        const gaps = f.mismatches.map((m) => m[3]);
        console.log(`       fed llama.cpp's ${f.positions} tokens, UltraKV's argmax agrees at ${f.agree};`
            + ` mismatches [pos, ultrakv, llama.cpp, gap]: ${JSON.stringify(f.mismatches.slice(0, 6))}`
            + `${f.mismatches.length > 6 ? " ..." : ""}; largest gap ${gaps.length ? Math.max(...gaps) : 0}`
            + ` (logit std ${f.logitStd})`);
    }
    if (key === "tokens" && process.env.VERBOSE) {
        console.log(`  ultrakv:   ${JSON.stringify(a)}\n  llama.cpp: ${JSON.stringify(b)}`);
        console.log(`  ultrakv text:   ${JSON.stringify(u.text)}\n  llama.cpp text: ${JSON.stringify(l.text)}`);
    }
});
process.exit(failures ? 1 : 0);
