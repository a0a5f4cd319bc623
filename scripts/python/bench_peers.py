"""PyTorch peers for `npm run -s bench:embed -- --peer`: the same texts through transformers
in fp32 and in PyTorch's dynamic qint8 (torch.ao.quantization.quantize_dynamic on nn.Linear),
the way a user would otherwise embed with eos1086 (CLS of last_hidden_state, batches sorted
by length). Needs torch + transformers (not CI's: pip install torch transformers in a venv).

  python scripts/python/bench_peers.py --model DIR --texts texts.json [--threads 2] [--rounds 2]
      runs both peers in alternating rounds and prints one JSON line.
  python scripts/python/bench_peers.py --model DIR --texts texts.json --serve
      loads both, then answers one JSON line per "fp32"/"qint8" line on stdin, so bench:embed
      can alternate them with biovec's own rounds in one run.
"""
import argparse
import json
import sys
import time

import torch
from transformers import AutoModel, AutoTokenizer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True, help="JSON array of strings")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf8") as f:
        texts = json.load(f)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    fp32 = AutoModel.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    qint8 = torch.ao.quantization.quantize_dynamic(fp32, {torch.nn.Linear}, dtype=torch.qint8).eval()
    models = {"fp32": fp32, "qint8": qint8}

    # Sorted by length so each batch pads little: what a careful user of transformers does.
    encoded = [tokenizer(t, truncation=True, max_length=args.max_length)["input_ids"] for t in texts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
    tokens = sum(len(e) for e in encoded)
    pad = tokenizer.pad_token_id

    def to_tensors(rows):
        seq = max(len(encoded[i]) for i in rows)
        ids = torch.full((len(rows), seq), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), seq), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[r, : len(encoded[i])] = 1
        return ids, mask

    prepared = [to_tensors(b) for b in batches]

    def run(mode: str) -> dict:
        model = models[mode]
        # Texts in, CLS vectors out, tokenizing included: what biovec's engine side is timed on.
        t0 = time.perf_counter()
        with torch.inference_mode():
            for rows in batches:
                enc = tokenizer([texts[i] for i in rows], truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
                model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state[:, 0]
        seconds = time.perf_counter() - t0
        return {"mode": mode, "seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds}

    with torch.inference_mode():  # warm-up: first calls allocate and pick kernels
        for m in models.values():
            m(input_ids=prepared[0][0], attention_mask=prepared[0][1])

    if args.serve:
        print(json.dumps({"ready": True, "tokens": tokens, "torch": torch.__version__}), flush=True)
        for line in sys.stdin:
            mode = line.strip()
            if mode in models:
                print(json.dumps(run(mode)), flush=True)
        return
    best = {m: 0.0 for m in models}
    for _ in range(args.rounds):
        for m in models:
            best[m] = max(best[m], run(m)["tokens_per_s"])
    print(json.dumps({"pytorch_fp32_tokens_per_s": round(best["fp32"]), "pytorch_qint8_tokens_per_s": round(best["qint8"]),
                      "tokens": tokens, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
