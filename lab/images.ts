// Fixture images without any engine (infra-recipes §2, "Images without any engine"): a busybox-static base
// layer shared by every image plus a tiny app layer, assembled as an OCI image in memory and pushed straight
// to the lab registry over its HTTP API (blob uploads, then the manifest by tag). The manifest digest is
// computed here, so it is known before the push and checked against what the registry answers. Bytes are
// reproducible (see tar.ts), so every `up` yields the same digests for the same versions.
import { readFileSync } from 'node:fs';
import { dockerEntrypoint, httpHandler, HTTP_HANDLER, type DockerProgramOptions } from './fixtures/docker-program';
import { gzip, sha256Hex, tar, type TarEntry } from './tar';

/** From busybox-static: the only binary inside the images, so it must not need a dynamic loader. */
export const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'sh',
  'nc',
  'env',
  'grep',
  'sort',
  'sed',
  'cat',
  'printf',
  'echo',
  'hostname',
  'sleep',
  'kill',
  'ls',
  'ps',
  'tr',
  'wc',
  'wget',
  'head',
  'test',
  '[',
];

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface Blob {
  digest: string;
  size: number;
  body: Buffer;
}

function blob(body: Buffer): Blob {
  return { digest: `sha256:${sha256Hex(body)}`, size: body.length, body };
}

interface Layer {
  blob: Blob;
  /** digest of the uncompressed tar (rootfs.diff_ids) */
  diffId: string;
}

function layer(entries: TarEntry[]): Layer {
  const raw = tar(entries);
  return { blob: blob(gzip(raw)), diffId: `sha256:${sha256Hex(raw)}` };
}

let baseLayer: Layer | undefined;

/** busybox-static and a few applet links; the same bytes (and digest) in every image. */
function busyboxLayer(): Layer {
  baseLayer ??= layer([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', mode: 0o755, body: readFileSync(BUSYBOX) },
    ...APPLETS.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ]);
  return baseLayer;
}

export interface BuiltImage {
  repository: string;
  tag: string;
  /** Manifest digest: what `image@digest` pulls. */
  digest: string;
  blobs: Blob[];
  manifest: Buffer;
}

/** `<registry>/frameworks/<service>:<version>`, built from the fixture programs. */
export function buildImage(registry: string, o: DockerProgramOptions): BuiltImage {
  const base = busyboxLayer();
  const app = layer([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: `bin/${o.service}`, mode: 0o755, body: dockerEntrypoint(o) },
    { type: 'dir', path: 'usr' },
    { type: 'dir', path: 'usr/lib' },
    { type: 'dir', path: 'usr/lib/fw' },
    { type: 'file', path: HTTP_HANDLER.slice(1), mode: 0o755, body: httpHandler() },
  ]);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {
          Entrypoint: [`/bin/${o.service}`],
          Cmd: ['serve'],
          Env: ['PATH=/bin:/usr/bin'],
          ExposedPorts: { [`${o.port}/tcp`]: {} },
          Labels: { 'org.opencontainers.image.version': o.version, 'frameworks.service': o.service },
        },
        rootfs: { type: 'layers', diff_ids: [base.diffId, app.diffId] },
      }),
    ),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [base, app].map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.blob.digest,
        size: l.blob.size,
      })),
    }),
  );
  return {
    repository: `${registry}/frameworks/${o.service}`,
    tag: o.version,
    digest: `sha256:${sha256Hex(manifest)}`,
    blobs: [config, base.blob, app.blob],
    manifest,
  };
}

async function expectStatus(res: Response, ok: number[], what: string): Promise<void> {
  if (!ok.includes(res.status)) {
    const text = await res.text().catch(() => '');
    throw new Error(`registry ${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
}

/** Pushes blobs (skipping those already stored) and the manifest; returns the digest the registry reports. */
export async function pushImage(registry: string, image: BuiltImage): Promise<string> {
  const base = `http://${registry}/v2/${image.repository.slice(registry.length + 1)}`;
  for (const b of image.blobs) {
    const head = await fetch(`${base}/blobs/${b.digest}`, { method: 'HEAD' });
    if (head.status === 200) continue;
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    await expectStatus(start, [202], `start upload ${b.digest}`);
    const location = new URL(start.headers.get('location') ?? '', `http://${registry}`);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
      body: b.body,
    });
    await expectStatus(put, [201], `upload ${b.digest}`);
  }
  const res = await fetch(`${base}/manifests/${image.tag}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST },
    body: image.manifest,
  });
  await expectStatus(res, [201], `put manifest ${image.repository}:${image.tag}`);
  const reported = res.headers.get('docker-content-digest');
  if (reported !== image.digest) {
    throw new Error(`registry stored ${image.repository}:${image.tag} as ${reported}, expected ${image.digest}`);
  }
  return image.digest;
}
