"""Save the tiny fixture weights in torch's own formats (run once, commit the output).

    /work/venv-torch/bin/python scripts/python/make_torch_fixtures.py

Reads test/fixtures/models/tiny-{bert,roberta,roberta-fp16}/model.safetensors (made by
make_fixtures.py) and writes, under test/fixtures/torch/ (config.json + weights only; the
tests tokenize with the original fixture):
  bert-bin/               pytorch_model.bin (zip, torch.save default) of tiny-bert, with two
                          tensors stored as views into one shared storage (non-zero storage
                          offsets) and one as a transposed, non-contiguous view
  bert-bin-legacy/        the same state dict in torch's legacy (pre-1.6, non-zip) format
  roberta-fp16-bin/       tiny-roberta-fp16 as fp16 pytorch_model.bin
  roberta-sharded-st/     tiny-roberta via save_pretrained(max_shard_size=...): safetensors shards + index
  bert-sharded-bin/       tiny-bert as pytorch_model-0000N-of-0000M.bin shards + index
  evil/os-system.bin      a torch zip whose data.pkl would call os.system (posix.system) on load
CI never runs this: it needs torch. The TypeScript tests read only its committed output.
"""
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForMaskedLM

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "test" / "fixtures" / "models"
OUT = ROOT / "test" / "fixtures" / "torch"


def fresh(name):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def bert_state_with_views():
    sd = load_file(str(MODELS / "tiny-bert" / "model.safetensors"))
    q = "encoder.layer.0.attention.self.query.weight"
    k = "encoder.layer.0.attention.self.key.weight"
    both = torch.cat([sd[q], sd[k]], dim=0).clone()
    sd[q], sd[k] = both[: sd[q].shape[0]], both[sd[q].shape[0]:]  # one storage, offsets 0 and 32*32
    v = "encoder.layer.1.attention.self.value.weight"
    sd[v] = sd[v].t().contiguous().t()  # same values, strides (1, rows)
    assert not sd[v].is_contiguous() and sd[k].storage_offset() > 0
    return sd


def write_bin_shards(sd, d, max_bytes):
    """What transformers 4.x save_pretrained(safe_serialization=False, max_shard_size=...) wrote
    (transformers 5 writes only safetensors): shards in key order plus the index."""
    shards, current, size = [], {}, 0
    for name, t in sd.items():
        nbytes = t.numel() * t.element_size()
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = t
        size += nbytes
    shards.append(current)
    weight_map = {}
    for i, shard in enumerate(shards):
        fname = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(shard, d / fname)
        weight_map.update({k: fname for k in shard})
    total = sum(t.numel() * t.element_size() for t in sd.values())
    (d / "pytorch_model.bin.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    bert_cfg = MODELS / "tiny-bert" / "config.json"

    d = fresh("bert-bin")
    shutil.copy(bert_cfg, d / "config.json")
    torch.save(bert_state_with_views(), d / "pytorch_model.bin")

    d = fresh("bert-bin-legacy")
    shutil.copy(bert_cfg, d / "config.json")
    torch.save(bert_state_with_views(), d / "pytorch_model.bin", _use_new_zipfile_serialization=False)

    d = fresh("roberta-fp16-bin")
    shutil.copy(MODELS / "tiny-roberta-fp16" / "config.json", d / "config.json")
    sd = load_file(str(MODELS / "tiny-roberta-fp16" / "model.safetensors"))
    assert all(t.dtype == torch.float16 for t in sd.values())
    torch.save(sd, d / "pytorch_model.bin")

    d = fresh("roberta-sharded-st")
    mlm = AutoModelForMaskedLM.from_pretrained(MODELS / "tiny-roberta")
    mlm.save_pretrained(d, safe_serialization=True, max_shard_size="80KB")
    assert (d / "model.safetensors.index.json").exists()

    d = fresh("bert-sharded-bin")
    shutil.copy(bert_cfg, d / "config.json")
    write_bin_shards(load_file(str(MODELS / "tiny-bert" / "model.safetensors")), d, 80_000)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > /tmp/biovec-pwned",))

    d = fresh("evil")
    torch.save({"embeddings.word_embeddings.weight": Evil()}, d / "os-system.bin")

    for f in OUT.rglob("*"):
        if f.is_file():
            f.chmod(0o644)  # save_pretrained writes shards 0600


if __name__ == "__main__":
    main()
