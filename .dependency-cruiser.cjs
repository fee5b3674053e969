// The import rules of docs/architecture.md, checked by `make lint` (and so by `make test` and CI).
// Each folder of src/ may import only the folders listed for it; lib/ is open to everyone.
// A new back-edge fails the build with the rule's name and the offending import.

/** folder → the folders (besides itself and lib/) it may import */
const allowed = {
  lib: [],
  model: [],
  native: [],
  config: ['model'],
  'bgp/wire': ['model'],
  bgp: ['model', 'bgp/wire', 'native'],
  l2: ['model', 'native'],
  dataplane: ['model', 'native'],
  health: ['model', 'native'],
  cluster: ['model'],
  k8s: ['model', 'config'],
  agent: ['model'],
  api: ['model'],
  migrate: ['model', 'k8s'],
  sync: ['model', 'native'],
  bfd: ['model', 'native'],
};

/** the path pattern of a folder's own files (bgp/ without its wire/ subfolder) */
const own = (f) => (f === 'bgp' ? '^src/bgp/(?!wire/)' : `^src/${f}/`);

const forbidden = Object.entries(allowed).map(([from, may]) => ({
  name: `layer-${from.replace('/', '-')}`,
  comment: `src/${from}/ may import only ${['lib', ...may].map((f) => `src/${f}/`).join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: own(from) },
  to: { path: '^src/', pathNot: [from, 'lib', ...may].map(own) },
}));

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-circular',
      comment: 'no import cycles between modules',
      severity: 'error',
      from: { path: '^src/' },
      // type-only cycles (a session's types file naming the session class) carry no load order
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'src-not-from-tests',
      comment: 'production code never imports test code',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|build)/' },
  },
};
