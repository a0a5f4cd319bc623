"""Reference retrieval figures from pytrec_eval (the trec_eval port BEIR and MTEB score with).

Writes test/fixtures/retrieval/trec-eval.json: a synthetic run and graded qrels (ties, unjudged
hits, judged-irrelevant hits, a query with nothing relevant retrieved, relevance grade 2) with
pytrec_eval's ndcg_cut_10, recall_10, recall_100 and recip_rank on the run cut at 10 (MRR@10),
per query. biovec's metrics must equal them.

    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install pytrec-eval-terrier
    /tmp/evvenv/bin/python scripts/python/make_retrieval_refs.py
"""
import json
import random
from importlib.metadata import version
from pathlib import Path

import pytrec_eval

rng = random.Random(7)
docs = [f"d{i}" for i in range(400)]
qrels, run = {}, {}
for q in range(25):
    qid = f"q{q}"
    judged = rng.sample(docs, rng.randint(1, 6))
    qrels[qid] = {d: rng.choice([0, 1, 1, 2]) for d in judged}
    if q == 3:
        qrels[qid] = {judged[0]: 1}  # retrieved nowhere: every figure 0
    hits = rng.sample(docs, 120)
    if q != 3:
        hits = [d for d in hits if d not in judged[:2]]
        for d in judged[:2]:
            hits.insert(rng.randint(0, 12), d)
    else:
        hits = [d for d in hits if d != judged[0]]
    # Coarse scores make ties, which trec_eval breaks by docno descending.
    run[qid] = {d: round(1 - i / 150 + rng.choice([0, 0.004]), 2) for i, d in enumerate(hits)}

ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_10", "recall_100"})
full = ev.evaluate(run)
cut10 = {q: dict(sorted(r.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10]) for q, r in run.items()}
# recip_rank has no cutoff in trec_eval; MRR@10 is recip_rank over the run cut at rank 10.
mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut10)
expected = {q: {"ndcg_at_10": full[q]["ndcg_cut_10"], "recall_at_10": full[q]["recall_10"], "recall_at_100": full[q]["recall_100"], "mrr_at_10": mrr[q]["recip_rank"]} for q in qrels}
out = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "retrieval" / "trec-eval.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"generator": f"pytrec_eval-terrier {version('pytrec-eval-terrier')}", "qrels": qrels, "run": run, "expected": expected}, indent=None) + "\n")
print(f"wrote {out}")
