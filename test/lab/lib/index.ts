// The lab library lives in src/lab/lib (it ships with `edgelb lab demo`); tests import it here.
export * from '../../../src/lab/lib/index.js';
