"""Make biovec's numerics fixtures with Hugging Face transformers (run once, commit the output).

    python -m venv .venv && .venv/bin/pip install torch transformers safetensors numpy
    .venv/bin/python scripts/python/make_fixtures.py [--shared ../shared]

Writes, under test/fixtures/:
  models/tiny-roberta/        RobertaForMaskedLM (so `roberta.` prefix + lm_head), fp32, BPE tokenizer
                              as vocab.json + merges.txt (no tokenizer.json: the biomed_roberta_base case)
  models/tiny-roberta-fp16/   the same weights stored as fp16
  models/tiny-bert/           BertModel (no prefix), fp32, WordPiece vocab.txt, lower-cased
  models/tiny-bert-onnx/      the tiny BERT exported by torch.onnx to onnx/model.onnx, with tokenizer.json
  models/*/reference.safetensors   input_ids, attention_mask, last_hidden_state for reference.json's texts,
                              batched with padding, computed by transformers in fp32
  tokenizer-parity/strings.json    the parity strings (biomedical, unicode, whitespace, long, empty)
  tokenizer-parity/<name>.json     transformers' fast-tokenizer ids for each string
CI never runs this: it needs torch. The TypeScript tests read only its committed output.
"""
import argparse
import gzip
import json
import os
import random
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import ByteLevelBPETokenizer, BertWordPieceTokenizer
from transformers import (AutoModel, AutoTokenizer, BertConfig, BertModel, RobertaConfig,
                          RobertaForMaskedLM)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures"
SEED = 1086

TRAINING_TEXT = [
    "Aspirin (acetylsalicylic acid) irreversibly inhibits cyclooxygenase-1 and -2.",
    "BRCA1 and BRCA2 mutations increase the lifetime risk of breast and ovarian cancer.",
    "The p53 tumour suppressor is encoded by TP53 on chromosome 17p13.1.",
    "Interleukin-6 (IL-6) levels were elevated in patients with severe COVID-19.",
    "Mice received 10 mg/kg of the compound intraperitoneally for 14 days.",
    "HbA1c decreased by 0.8% ± 0.2% after 24 weeks of metformin therapy.",
    "Tumour necrosis factor-α (TNF-α) activates NF-κB signalling in macrophages.",
    "Randomized controlled trials showed no significant difference (p = 0.34).",
    "The IC50 of imatinib against BCR-ABL was 0.25 µM in K562 cells.",
    "Patients aged ≥65 years were enrolled at 12 centres in Europe and North America.",
    "Electron microscopy revealed mitochondrial swelling and cristae disruption.",
    "CRISPR-Cas9 knockout of EGFR abolished proliferation in A549 lung adenocarcinoma cells.",
    "Serum creatinine rose from 1.1 to 2.3 mg/dL within 48 h of contrast exposure.",
    "Methicillin-resistant Staphylococcus aureus (MRSA) carries the mecA gene.",
    "The 16S rRNA gene was sequenced to identify bacterial taxa in the gut microbiome.",
]


def parity_strings(shared):
    """At least 200 varied strings: hand-written edge cases plus real sentences when ../shared has them."""
    strings = [
        "", " ", "   ", "\n", "\t", "a", "A.", "DNA", "dna", "RNA-seq",
        "α-synuclein", "β-amyloid (Aβ42)", "γ-aminobutyric acid", "δ-opioid receptor", "κ-casein",
        "Ω-3 fatty acids", "TNF-α", "IFN-γ", "NF-κB", "TGF-β1",
        "5 µg/mL", "5 μg/mL", "10 µM", "37 °C", "±0.5", "3.2 ± 0.4 mmol/L", "≥18 years", "≤ 0.05", "p<0.001", "×10⁹/L",
        "café", "naïve T cells", "Ångström", "Schrödinger", "Sjögren's syndrome", "Guillain–Barré syndrome",
        "Ménière's disease", "Crohn’s disease", "façade", "coöperation",
        "2-acetoxybenzoic acid", "(S)-2-amino-3-(4-hydroxyphenyl)propanoic acid", "N,N-dimethyltryptamine",
        "1,3,7-trimethylxanthine", "CC(=O)OC1=CC=CC=C1C(=O)O", "C6H12O6", "Na+/K+-ATPase", "Ca2+", "[Fe(CN)6]3−",
        "trans-resveratrol", "cis-platin", "L-DOPA", "D-glucose", "17β-estradiol", "5′-UTR", "3'-end", "mRNA",
        "BRCA1", "TP53", "HER2/neu", "IL-6", "EGFR T790M", "KRAS G12C", "CD4+ T cells", "CD8+CD28−",
        "HLA-B*57:01", "rs429358", "c.35delG", "p.Val600Glu", "BRAF V600E", "SARS-CoV-2", "H5N1",
        "COVID-19", "HIV-1", "E. coli O157:H7", "S. aureus", "Mycobacterium tuberculosis H37Rv",
        "double  space", "tab\tseparated", "line\nbreak", "windows\r\nline", "trailing space ",
        " leading space", "non\u00a0breaking", "thin\u2009space", "ideographic\u3000space", "zero\u200bwidth",
        "soft\u00adhyphen", "en–dash", "em—dash", "minus − sign", "‘quoted’", "“double quoted”", "«guillemets»",
        "ellipsis…", "bullet • point", "© 2020 Elsevier", "™", "§ 3.1", "½ dose", "x²", "H₂O",
        "e\u0301 combining", "ﬁ ligature", "ＦＵＬＬＷＩＤＴＨ", "中文 医学", "日本語のテキスト", "한국어",
        "Русский текст", "Ελληνικά", "עברית", "العربية", "हिन्दी", "🧬 DNA emoji", "💊💉", "👩‍⚕️",
        "<s>", "</s>", "<mask>", "<pad>", "[CLS]", "[SEP]", "[MASK]", "<unk> token", "text <mask> inside",
        "UPPER CASE ABSTRACT", "MiXeD CaSe", "http://example.org/pubmed?id=123", "doi:10.1016/j.cell.2020.01.001",
        "PMID: 29768149", "e-mail: author@univ.edu", "Fig. 2A–C", "Table S3", "(n = 1,234)", "95% CI, 1.02–1.45",
        "OR 2.3 [1.1; 4.6]", "1e-5", "3.14159", "1,000,000", "-40", "+/-", "a/b/c", "x_y_z", "###",
        "....", "!!!", "???", "@@", "~~~", "|||", "\\backslash", "\"quotes\"", "it's", "don't", "O'Brien",
    ]
    rng = random.Random(SEED)
    real = []
    if shared:
        chemprot = Path(shared) / "data" / "chemprot" / "train.txt"
        if chemprot.exists():
            lines = chemprot.read_text(encoding="utf8").splitlines()
            real += [json.loads(l)["text"] for l in rng.sample(lines, 40)]
        scifact = Path(shared) / "data" / "scifact" / "corpus.jsonl.gz"
        if scifact.exists():
            with gzip.open(scifact, "rt", encoding="utf8") as f:
                docs = [json.loads(l) for l in f]
            for d in rng.sample(docs, 30):
                real.append(d["title"])
                real.append(d["text"][:600])
            # Whole abstracts, several longer than 512 tokens: the truncation/chunking case.
            longest = sorted(docs, key=lambda d: -len(d["text"]))[:5]
            real += [d["title"] + " " + d["text"] for d in longest]
    strings += real
    strings += [" ".join(rng.sample(TRAINING_TEXT, 8)) * 3]  # long synthetic text
    strings += [t.upper() for t in TRAINING_TEXT[:5]] + [t.lower() for t in TRAINING_TEXT[5:10]]
    return strings


def train_bpe(out_dir):
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(TRAINING_TEXT * 4, vocab_size=700, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.save_model(str(out_dir))
    (out_dir / "tokenizer_config.json").write_text(json.dumps(
        {"max_len": 128, "add_prefix_space": False, "trim_offsets": True, "tokenizer_class": "RobertaTokenizer"}))
    (out_dir / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
         "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}))
    return tok.get_vocab_size()


def train_wordpiece(out_dir):
    tok = BertWordPieceTokenizer(lowercase=True)
    tok.train_from_iterator(TRAINING_TEXT * 4, vocab_size=500, min_frequency=1,
                            special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.save_model(str(out_dir))
    (out_dir / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 128}))
    return tok.get_vocab_size()


REFERENCE_TEXTS = [
    "Aspirin irreversibly inhibits cyclooxygenase.",
    "BRCA1 mutations and breast cancer risk",
    "The IC50 of imatinib was 0.25 µM ± 0.03 in K562 cells (n = 3).",
    "TNF-α activates NF-κB",
    "",
    "Patients aged ≥65 years were enrolled at 12 centres; serum creatinine rose from 1.1 to 2.3 mg/dL "
    "within 48 h of contrast exposure, and HbA1c decreased by 0.8% after 24 weeks of metformin.",
    "DNA",
]


def write_reference(model_dir, model):
    tok = AutoTokenizer.from_pretrained(model_dir)
    batch = tok(REFERENCE_TEXTS, padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    save_file({
        "input_ids": batch["input_ids"].to(torch.int64).contiguous(),
        "attention_mask": batch["attention_mask"].to(torch.int64).contiguous(),
        "last_hidden_state": hidden.to(torch.float32).contiguous(),
    }, str(Path(model_dir) / "reference.safetensors"))
    (Path(model_dir) / "reference.json").write_text(json.dumps(
        {"texts": REFERENCE_TEXTS, "generator": "scripts/python/make_fixtures.py",
         "transformers": __import__("transformers").__version__, "torch": torch.__version__},
        ensure_ascii=False, indent=1))


def make_roberta(models):
    out = models / "tiny-roberta"
    out.mkdir(parents=True, exist_ok=True)
    vocab = train_bpe(out)
    torch.manual_seed(SEED)
    cfg = RobertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=130, type_vocab_size=1,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    mlm = RobertaForMaskedLM(cfg)
    # Random init leaves LayerNorm at identity and biases at 0; perturb them so a converter
    # that dropped one would be caught.
    with torch.no_grad():
        for name, p in mlm.named_parameters():
            if "LayerNorm" in name or name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.1)
    mlm.save_pretrained(out, safe_serialization=True)
    write_reference(out, mlm.roberta)

    half = models / "tiny-roberta-fp16"
    half.mkdir(parents=True, exist_ok=True)
    for f in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(out / f, half / f)
    mlm.half().save_pretrained(half, safe_serialization=True)
    write_reference(half, AutoModel.from_pretrained(half, dtype=torch.float32))


def make_bert(models):
    out = models / "tiny-bert"
    out.mkdir(parents=True, exist_ok=True)
    vocab = train_wordpiece(out)
    torch.manual_seed(SEED + 1)
    cfg = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128, type_vocab_size=2)
    model = BertModel(cfg, add_pooling_layer=True)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(out, safe_serialization=True)
    write_reference(out, model)

    onnx_dir = models / "tiny-bert-onnx"
    (onnx_dir / "onnx").mkdir(parents=True, exist_ok=True)
    AutoTokenizer.from_pretrained(out).save_pretrained(onnx_dir)  # writes tokenizer.json
    shutil.copy(out / "config.json", onnx_dir / "config.json")
    model.eval()
    ids = torch.ones(2, 8, dtype=torch.int64)

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    torch.onnx.export(Wrapped(model), (ids, ids, torch.zeros_like(ids)), str(onnx_dir / "onnx" / "model.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in
                                    ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    for f in ["reference.safetensors", "reference.json"]:
        shutil.copy(out / f, onnx_dir / f)


def make_tokenizer_parity(shared):
    out = FIXTURES / "tokenizer-parity"
    out.mkdir(parents=True, exist_ok=True)
    strings = parity_strings(shared)
    (out / "strings.json").write_text(json.dumps(strings, ensure_ascii=False, indent=0))
    dirs = {"tiny-roberta": FIXTURES / "models" / "tiny-roberta", "tiny-bert": FIXTURES / "models" / "tiny-bert"}
    if shared:
        dirs["biomed_roberta_base"] = Path(shared) / "models" / "biomed_roberta_base-tokenizer"
        dirs["BiomedBERT-base-uncased-abstract"] = Path(shared) / "models" / "BiomedBERT-base-uncased-abstract-tokenizer"
    for name, d in dirs.items():
        tok = AutoTokenizer.from_pretrained(d)
        ids = [tok(s)["input_ids"] for s in strings]
        (out / f"{name}.json").write_text(json.dumps({"source": str(d.name), "is_fast": tok.is_fast, "ids": ids}))
        print(name, "fast" if tok.is_fast else "slow", len(strings), "strings")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = parser.parse_args()
    shared = args.shared if os.path.isdir(args.shared) else None
    models = FIXTURES / "models"
    make_roberta(models)
    make_bert(models)
    make_tokenizer_parity(shared)


if __name__ == "__main__":
    main()
