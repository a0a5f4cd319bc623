import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../../test/helpers/fixtures.js';
import { maxModelTokens, parseEncoderConfig, tokenLimits } from './model-config.js';

const fixtureConfig = (arch: string) => JSON.parse(readFileSync(join(FIXTURES, 'arch', arch, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('parseEncoderConfig per architecture', () => {
  it("reads DistilBERT's own key names (dim, n_layers, hidden_dim, activation)", () => {
    expect(parseEncoderConfig(fixtureConfig('distilbert'))).toMatchObject({ architecture: 'distilbert', hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 32, hiddenAct: 'gelu' });
  });

  it('MPNet counts positions past the pad id like RoBERTa: 514 embeddings are 512 tokens', () => {
    const cfg = parseEncoderConfig({ ...fixtureConfig('mpnet'), max_position_embeddings: 514 });
    expect(maxModelTokens(cfg)).toBe(512);
    expect(tokenLimits({ model_type: 'mpnet', max_position_embeddings: 514, pad_token_id: 1 }).maxTokens).toBe(512);
  });

  it('ModernBERT from the published config style (global_attn_every_n_layers, *_rope_theta)', () => {
    const raw = { ...fixtureConfig('modernbert'), layer_types: undefined, rope_parameters: undefined, global_attn_every_n_layers: 3, num_hidden_layers: 4, global_rope_theta: 160000, local_rope_theta: 10000, local_attention: 128 };
    expect(parseEncoderConfig(raw).modernbert).toEqual({
      layerTypes: ['full', 'sliding', 'sliding', 'full'], globalRopeTheta: 160000, localRopeTheta: 10000, localWindow: 64, normBias: false, attentionBias: false, mlpBias: false,
    });
  });

  it('DeBERTa accepts pos_att_type as "p2c|c2p" and type_vocab_size 0', () => {
    const cfg = parseEncoderConfig({ ...fixtureConfig('deberta-v2'), pos_att_type: 'p2c|c2p' });
    expect(cfg).toMatchObject({ typeVocabSize: 0, deberta: { c2p: true, p2c: true, shareAttKey: true, positionBuckets: 8, maxRelativePositions: 64 } });
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['BERT with relative_key positions', { model_type: 'bert', position_embedding_type: 'relative_key' }, /position_embedding_type "relative_key" is not supported \(only "absolute"\)/],
    ['an unknown activation', { ...fixtureConfig('electra'), hidden_act: 'swish' }, /hidden_act "swish" is not supported \(supported: gelu, gelu_new, gelu_pytorch_tanh, relu\)/],
    ['ModernBERT with scaled rotary positions', { ...fixtureConfig('modernbert'), rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 1 } } }, /rope_type "yarn" is not supported \(only "default"/],
    ['DeBERTa with p2p attention', { ...fixtureConfig('deberta-v2'), pos_att_type: ['c2p', 'p2p'] }, /pos_att_type p2p is not supported \(c2p and p2c are\)/],
    ['DeBERTa-v2 xlarge (conv layer)', { ...fixtureConfig('deberta-v2'), conv_kernel_size: 3 }, /conv_kernel_size > 0/],
    ['an unknown model_type', { model_type: 'funnel' }, /model_type "funnel" is not supported .* bert, roberta, xlm-roberta, camembert, mpnet, distilbert, electra, modernbert, deberta-v2 only/],
  ];
  for (const [what, raw, message] of refusals) {
    it(`refuses ${what}, saying what is supported`, () => {
      expect(() => parseEncoderConfig({ vocab_size: 8, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8, ...raw })).toThrow(message);
    });
  }
});
