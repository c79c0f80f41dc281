"""llama.cpp's side: the prompt's ids (llama-server /tokenize) and N greedy tokens (/completion, top-k 1 only),
continued past an end-of-generation token by sending prompt + tokens so far as ids, since the server stops there
(and ignore_eos would change the choice instead).   usage: server_greedy.py PORT PROMPT N"""
import json
import sys
import urllib.request

port, prompt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def post(path, body):
    request = urllib.request.Request(f"http://localhost:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))


ids = post("/tokenize", {"content": prompt, "add_special": True})["tokens"]
generated = []
while len(generated) < n:
    r = post("/completion", {"prompt": ids + generated, "n_predict": n - len(generated), "temperature": 0,
                             "top_k": 1, "samplers": ["top_k"], "return_tokens": True, "cache_prompt": False})
    if not r["tokens"]:
        break
    generated += r["tokens"]
print("prompt", str(ids).replace(",", ""))
print("tokens", str(generated).replace(",", ""))
