// Writes the OCI image config, manifest, index.json and oci-layout of the edgelb image (called by
// scripts/image.sh with the layer's digests); prints "config sha256:… manifest sha256:…".
// Every field is fixed or derived from the arguments, so the same layer gives the same digests.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, created, diffId, layer, layerSize, version, tag] = process.argv.slice(2);
const blob = (obj) => {
  const text = Buffer.from(JSON.stringify(obj));
  const digest = createHash('sha256').update(text).digest('hex');
  writeFileSync(join(dir, 'blobs', 'sha256', digest), text);
  return { digest: `sha256:${digest}`, size: text.length };
};
const config = blob({
  created,
  architecture: 'amd64',
  os: 'linux',
  config: {
    Entrypoint: ['/usr/local/bin/edgelb'],
    Cmd: ['daemon', '--kubernetes', '--config', '/etc/edgelb/config.yaml'],
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production'],
    WorkingDir: '/opt/edgelb',
    Labels: {
      'org.opencontainers.image.title': 'edgelb',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.created': created,
    },
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  history: [{ created, created_by: 'scripts/image.sh (Debian bookworm rootfs, Node, edgelb)' }],
});
const manifest = blob({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layer}`, size: Number(layerSize) }],
});
writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(
  join(dir, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }),
);
process.stdout.write(`config ${config.digest} manifest ${manifest.digest}\n`);
