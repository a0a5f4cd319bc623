"""Tiny random checkpoints of every non-BERT architecture the converter builds (run once, commit).

    /work/venv-torch/bin/python scripts/python/make_arch_fixtures.py

For each architecture, under test/fixtures/arch/<name>/ (hidden 32, 2-3 layers, vocab 64):
  config.json, model.safetensors         fp32, saved by transformers' save_pretrained
  fp16/model.safetensors                 the same weights rounded to fp16
  fp16-bin/pytorch_model.bin             those fp16 weights as torch.save writes them
  reference.json                         input_ids, attention_mask, and transformers' CLS and mean
                                         pooled last_hidden_state, fp32 (from the fp32 weights) and
                                         fp16 (the fp16 weights loaded into an fp32 model)
Variants (fp32 only, no fp16 copies): deberta-v2-abs (v2 style: absolute positions, token types,
embed_proj, separate pos_key_proj/pos_query_proj, plain clamped distances) and modernbert-bias
(biases everywhere, GELU tanh). mpnet-sharded/ holds the fp32 mpnet as safetensors shards + index. Each model is saved from
the class a real checkpoint comes from (bare model, or a head model whose prefix must be found).
CI never runs this: it needs torch. The TypeScript tests read only its committed output.
"""
import json
import shutil
from pathlib import Path

import torch
import transformers as tf
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "arch"
SEED = 1717
VOCAB = 64
COMMON = dict(vocab_size=VOCAB, hidden_size=32, num_attention_heads=4, intermediate_size=32,
              num_hidden_layers=2, max_position_embeddings=64)

ARCHS = {
    # name: (config class, model class, config kwargs, pad id)
    "mpnet": (tf.MPNetConfig, tf.MPNetForMaskedLM, dict(COMMON, relative_attention_num_buckets=32, pad_token_id=1), 1),
    "distilbert": (tf.DistilBertConfig, tf.DistilBertModel,
                   dict(vocab_size=VOCAB, dim=32, n_heads=4, hidden_dim=32, n_layers=2, max_position_embeddings=64,
                        sinusoidal_pos_embds=True, activation="gelu", pad_token_id=0), 0),
    "electra": (tf.ElectraConfig, tf.ElectraForPreTraining, dict(COMMON, embedding_size=16, pad_token_id=0), 0),
    "deberta-v2": (tf.DebertaV2Config, tf.DebertaV2Model,
                   dict(COMMON, relative_attention=True, max_relative_positions=-1, position_buckets=8,
                        pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm",
                        position_biased_input=False, type_vocab_size=0, layer_norm_eps=1e-7, pad_token_id=0), 0),
    "modernbert": (tf.ModernBertConfig, tf.ModernBertForMaskedLM,
                   dict(COMMON, num_hidden_layers=3, global_attn_every_n_layers=2, local_attention=4,
                        global_rope_theta=160000.0, local_rope_theta=10000.0, pad_token_id=0, bos_token_id=2,
                        eos_token_id=3, cls_token_id=2, sep_token_id=3, attn_implementation="eager"), 0),
}
VARIANTS = {
    "deberta-v2-abs": (tf.DebertaV2Config, tf.DebertaV2Model,
                       dict(COMMON, embedding_size=16, relative_attention=True, max_relative_positions=6,
                            position_buckets=-1, pos_att_type="c2p|p2c", share_att_key=False, norm_rel_ebd="none",
                            position_biased_input=True, type_vocab_size=2, layer_norm_eps=1e-7, pad_token_id=0), 0),
    "modernbert-bias": (tf.ModernBertConfig, tf.ModernBertModel,
                        dict(COMMON, global_attn_every_n_layers=2, local_attention=6, norm_bias=True,
                             attention_bias=True, mlp_bias=True, hidden_activation="gelu_pytorch_tanh",
                             pad_token_id=0, bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3), 0),
}


def batch(pad_id, gen):
    """Three sequences of 12, 7 and 4 tokens (padded to 12), ids clear of the pad id."""
    lengths = [12, 7, 4]
    ids = torch.full((3, 12), pad_id, dtype=torch.long)
    mask = torch.zeros((3, 12), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(4, VOCAB, (n,), generator=gen)
        mask[row, :n] = 1
    return ids, mask


def pooled(model, ids, mask):
    with torch.no_grad():
        base = getattr(model, model.base_model_prefix, model)
        h = base(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    m = mask.unsqueeze(-1).float()
    return {"cls": h[:, 0].tolist(), "mean": ((h * m).sum(1) / m.sum(1)).tolist()}


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    for name, (config_cls, model_cls, kwargs, pad_id) in [*ARCHS.items(), *VARIANTS.items()]:
        d = OUT / name
        shutil.rmtree(d, ignore_errors=True)
        config = config_cls(**kwargs)
        model = model_cls(config).eval()
        # Random init leaves LayerNorms at 1/0 and some biases at 0: perturb every tensor so a
        # swapped or skipped weight shows in the outputs.
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)
        model.save_pretrained(d)
        ids, mask = batch(pad_id, gen)
        reference = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "fp32": pooled(model, ids, mask)}

        if name in VARIANTS:
            (d / "reference.json").write_text(json.dumps(reference))
            continue
        sd = load_file(str(d / "model.safetensors"))
        half = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
        (d / "fp16").mkdir()
        (d / "fp16-bin").mkdir()
        shutil.copy(d / "config.json", d / "fp16" / "config.json")
        shutil.copy(d / "config.json", d / "fp16-bin" / "config.json")
        save_file(half, str(d / "fp16" / "model.safetensors"), metadata={"format": "pt"})
        torch.save(half, d / "fp16-bin" / "pytorch_model.bin")
        fp16_model = model_cls.from_pretrained(d / "fp16", dtype=torch.float32).eval()
        reference["fp16"] = pooled(fp16_model, ids, mask)
        reference["transformers"] = tf.__version__
        (d / "reference.json").write_text(json.dumps(reference))
        if name == "mpnet":
            s = OUT / "mpnet-sharded"
            shutil.rmtree(s, ignore_errors=True)
            model.save_pretrained(s, max_shard_size="40KB")
            assert (s / "model.safetensors.index.json").exists()
    for f in OUT.rglob("*"):
        if f.is_file():
            f.chmod(0o644)


if __name__ == "__main__":
    main()
