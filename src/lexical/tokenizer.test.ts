import { describe, expect, it } from 'vitest';
import { stemPorter } from './porter-stemmer.js';
import { termCount, termId, termVector } from './term-vector.js';
import { tokenize } from './tokenizer.js';

describe('tokenize', () => {
  it('keeps biomedical tokens whole (and, by default, adds their hyphen-separated parts)', () => {
    expect(tokenize('IL-6 and BRCA1 in COVID-19')).toEqual(['il-6', 'il', '6', 'brca1', 'covid-19', 'covid', '19']);
    expect(tokenize('IL-6', { shouldStem: true, shouldSplitHyphens: false, shouldDropStopWords: true })).toEqual(['il-6']);
    expect(tokenize('TNF‐α inhibition')).toEqual(['tnf-α', 'tnf', 'α', 'inhibit']); // U+2010 hyphen
  });

  it('lower-cases, drops stop words and possessives, stems only purely alphabetic words', () => {
    expect(tokenize("The patients' Alzheimer's treatments were effective")).toEqual(['patient', 'alzheim', 'treatment', 'were', 'effect']);
    expect(tokenize('p53 mutations', { shouldStem: false, shouldSplitHyphens: true, shouldDropStopWords: false })).toEqual(['p53', 'mutations']);
  });

  it('splits on punctuation but keeps decimals, and normalises full-width forms (NFKC)', () => {
    expect(tokenize('p<0.05; (n=12), ＢＲＣＡ１')).toEqual(['p', '0.05', 'n', '12', 'brca1']);
    expect(tokenize('end. Next')).toEqual(['end', 'next']);
    expect(tokenize('')).toEqual([]);
    expect(tokenize('— … !!')).toEqual([]);
  });
});

describe('stemPorter', () => {
  // Cases from Porter's paper and the reference vocabulary (tartarus.org/martin/PorterStemmer).
  it.each([
    ['caresses', 'caress'], ['ponies', 'poni'], ['cats', 'cat'], ['feed', 'feed'], ['agreed', 'agre'], ['plastered', 'plaster'],
    ['motoring', 'motor'], ['sing', 'sing'], ['conflated', 'conflat'], ['hopping', 'hop'], ['filing', 'file'], ['happy', 'happi'],
    ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'], ['digitizer', 'digit'], ['operator', 'oper'],
    ['generalization', 'gener'], ['triplicate', 'triplic'], ['hopeful', 'hope'], ['goodness', 'good'], ['revival', 'reviv'],
    ['adjustment', 'adjust'], ['adoption', 'adopt'], ['controll', 'control'], ['roll', 'roll'], ['probate', 'probat'], ['rate', 'rate'],
    ['inflammatory', 'inflammatori'], ['mutations', 'mutat'], ['cells', 'cell'], ['is', 'is'],
  ])('%s → %s', (word, stem) => expect(stemPorter(word)).toBe(stem));
});

describe('termVector', () => {
  it('counts terms under stable u32 ids, ascending', () => {
    const v = termVector('BRCA1 brca1 cancer');
    expect(v.indices).toHaveLength(2);
    expect([...v.indices]).toEqual([...v.indices].sort((a, b) => a - b));
    expect(v.values[v.indices.indexOf(termId('brca1'))]).toBe(2);
    expect(termCount(v)).toBe(3);
    expect(termId('brca1')).toBe(termId('brca1'));
    expect(termId('brca1')).not.toBe(termId('brca2'));
    expect(termVector('the of')).toEqual({ indices: new Uint32Array(), values: new Float32Array() });
  });
});
