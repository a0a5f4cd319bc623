import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncoderConfig } from '../../src/embedding/model/model-config.js';

export type RandomEncoderShape = Pick<
  EncoderConfig,
  'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize' | 'vocabSize' | 'maxPositionEmbeddings'
>;

/** roberta-base / biomed_roberta_base dimensions. */
export const ROBERTA_BASE: RandomEncoderShape = {
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  vocabSize: 50265,
  maxPositionEmbeddings: 514,
};

/**
 * Writes a random-weight RoBERTa checkpoint (config.json + model.safetensors with the
 * `roberta.` prefix, as a RobertaForMaskedLM save has) of the given shape. Speed benchmarks
 * need a model of real size, and a 500 MB file is better made than committed. Values are
 * small uniform noise (LayerNorm scales near 1) so activations stay in a realistic range.
 */
export async function writeRandomRoberta(dir: string, shape: RandomEncoderShape, seed = 1086): Promise<void> {
  const H = shape.hiddenSize;
  const tensors: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [shape.vocabSize, H]],
    ['embeddings.position_embeddings.weight', [shape.maxPositionEmbeddings, H]],
    ['embeddings.token_type_embeddings.weight', [1, H]],
    ['embeddings.LayerNorm.weight', [H]],
    ['embeddings.LayerNorm.bias', [H]],
  ];
  for (let l = 0; l < shape.numLayers; l++) {
    const p = `encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) tensors.push([`${p}.attention.self.${m}.weight`, [H, H]], [`${p}.attention.self.${m}.bias`, [H]]);
    tensors.push(
      [`${p}.attention.output.dense.weight`, [H, H]],
      [`${p}.attention.output.dense.bias`, [H]],
      [`${p}.attention.output.LayerNorm.weight`, [H]],
      [`${p}.attention.output.LayerNorm.bias`, [H]],
      [`${p}.intermediate.dense.weight`, [shape.intermediateSize, H]],
      [`${p}.intermediate.dense.bias`, [shape.intermediateSize]],
      [`${p}.output.dense.weight`, [H, shape.intermediateSize]],
      [`${p}.output.dense.bias`, [H]],
      [`${p}.output.LayerNorm.weight`, [H]],
      [`${p}.output.LayerNorm.bias`, [H]],
    );
  }
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, dims] of tensors) {
    const bytes = dims.reduce((a, b) => a * b, 1) * 4;
    header[`roberta.${name}`] = { dtype: 'F32', shape: dims, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (headerText.length % 8)) % 8);
  const file = await open(join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerText.length));
    await file.write(len);
    await file.write(headerText);
    let state = seed >>> 0 || 1;
    for (const [name, dims] of tensors) {
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
      const isScale = name.endsWith('LayerNorm.weight');
      for (let i = 0; i < data.length; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const u = (state >>> 0) / 4294967296 - 0.5; // uniform in [-0.5, 0.5)
        data[i] = isScale ? 1 + 0.1 * u : 0.07 * u; // std ≈ 0.02 like transformers' init
      }
      await file.write(new Uint8Array(data.buffer));
    }
  } finally {
    await file.close();
  }
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['RobertaForMaskedLM'],
      model_type: 'roberta',
      hidden_size: H,
      num_hidden_layers: shape.numLayers,
      num_attention_heads: shape.numHeads,
      intermediate_size: shape.intermediateSize,
      vocab_size: shape.vocabSize,
      max_position_embeddings: shape.maxPositionEmbeddings,
      type_vocab_size: 1,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      layer_norm_eps: 1e-5,
      hidden_act: 'gelu',
    }),
  );
}
