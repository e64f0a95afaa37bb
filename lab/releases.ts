// The lab's release repository (SPEC §3.2, §10) in the exact FrameWorks format (src/contracts/release.ts):
//   v0.1.0      installed by `up`
//   v0.2.0      new builds of everything except bridge, which is CARRIED from v0.1.0 (old label, image,
//               digest); channels/stable.yaml points here
//   v0.2.1      BAD: a foghorn build whose /health answers 500; everything else carried (rollback demo)
//   v0.3.0-rc1  new builds of everything; channels/rc.yaml points here
// Native tarballs live inside the repository under artifacts/ and are served over HTTP by the lab's busybox
// httpd (ARTIFACT_BASE_URL); images go to the lab registry. Also writes the lab catalog: lab/catalog/ plus
// v0.2.1, which the gates would otherwise refuse as undeclared.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import {
  ARTIFACT_BASE_URL,
  LAB_CATALOG_DIR,
  REGISTRY,
  SERVICES,
  type LabPaths,
  type ServiceName,
  type ServiceSpec,
} from './config';
import { dockerEntrypoint, httpHandler } from './fixtures/docker-program';
import { nativeProgram } from './fixtures/native-program';
import { purserDataMigrationsModule } from './fixtures/purser-data-migrations';
import { provisionerPaths } from './provisioner';
import { buildImage, type BuiltImage } from './images';
import { gzip, sha256Hex, tar, type TarEntry } from './tar';

export const ARCH = 'linux-amd64';
export const BAD_RELEASE = 'v0.2.1';
export const BAD_SERVICE: ServiceName = 'foghorn';
export const CARRIED_SERVICE: ServiceName = 'bridge';

interface ReleasePlan {
  version: string;
  date: string;
  minCli?: string;
  /** Which build each service ships: its own version, or an older one (carried). */
  builds: Record<ServiceName, string>;
}

const all = (v: string): Record<ServiceName, string> => ({
  quartermaster: v,
  commodore: v,
  purser: v,
  foghorn: v,
  bridge: v,
});

export const RELEASE_PLAN: readonly ReleasePlan[] = [
  { version: 'v0.1.0', date: '2025-09-01T09:00:00Z', builds: all('v0.1.0') },
  { version: 'v0.2.0', date: '2025-10-06T09:30:00Z', minCli: 'v0.2.0', builds: { ...all('v0.2.0'), bridge: 'v0.1.0' } },
  {
    version: BAD_RELEASE,
    date: '2025-10-20T09:00:00Z',
    minCli: 'v0.2.0',
    builds: { ...all('v0.2.0'), bridge: 'v0.1.0', foghorn: BAD_RELEASE },
  },
  { version: 'v0.3.0-rc1', date: '2025-11-10T16:00:00Z', minCli: 'v0.3.0-rc1', builds: all('v0.3.0-rc1') },
];
export const CHANNELS = { stable: 'v0.2.0', rc: 'v0.3.0-rc1' } as const;

export interface NativeArtifact {
  file: string;
  url: string;
  checksum: string;
  sizeBytes: number;
  /** Local path of the tarball (inside the repository). */
  path: string;
  /** The tarball's members (the `<svc>` executable first), for installing without unpacking. */
  members: { path: string; mode: number; body: Buffer | string }[];
}

export interface BuildOutputs {
  /** service → build version → image */
  images: Map<string, BuiltImage>;
  /** `<service>@<version>` → native tarball */
  natives: Map<string, NativeArtifact>;
}

const key = (service: string, version: string): string => `${service}@${version}`;

function healthFor(service: string, version: string): number {
  return service === BAD_SERVICE && version === BAD_RELEASE ? 500 : 200;
}

/**
 * Stands in for the hash of a build's source tree: the generated programs of that (service, version), so the
 * image entry and the native entry of one build agree, and a carried entry keeps its original value.
 */
function sourceHash(svc: ServiceSpec, version: string): string {
  const o = { service: svc.name, version, port: svc.port, healthStatus: healthFor(svc.name, version) };
  const native =
    svc.mode === 'native'
      ? nativeProgram({ ...o, dataMigrations: svc.name === 'purser', envFile: provisionerPaths(svc.name).env })
      : '';
  return sha256Hex(dockerEntrypoint(o) + httpHandler() + native);
}

function buildNative(paths: LabPaths, service: ServiceName, version: string, port: number): NativeArtifact {
  const program = nativeProgram({
    service,
    version,
    port,
    healthStatus: healthFor(service, version),
    dataMigrations: service === 'purser',
    // h1 is installed the way the FrameWorks provisioner does it and adopted on the first upgrade, after which the
    // unit's EnvironmentFile stays /etc/frameworks/<svc>.env: every build reads its config there.
    envFile: provisionerPaths(service).env,
  });
  new Script(program.replace(/^#!.*\n/, ''), { filename: `${service}-${version}` }); // syntax check only
  const entries: TarEntry[] = [{ type: 'file', path: service, mode: 0o755, body: program }];
  if (service === 'purser') {
    entries.push({ type: 'file', path: 'data-migrations.js', mode: 0o644, body: purserDataMigrationsModule(version) });
  }
  const body = gzip(tar(entries));
  const file = `frameworks-${service}-${version}-${ARCH}.tar.gz`;
  const dir = join(paths.releases, 'artifacts', service, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), body);
  return {
    file,
    url: `${ARTIFACT_BASE_URL}/artifacts/${service}/${version}/${file}`,
    checksum: `sha256:${sha256Hex(body)}`,
    sizeBytes: body.length,
    path: join(dir, file),
    members: entries.flatMap((e) => (e.type === 'file' ? [{ path: e.path, mode: e.mode, body: e.body }] : [])),
  };
}

/** Builds every distinct (service, version) once: images in memory, native tarballs into the repository. */
export function buildAll(paths: LabPaths): BuildOutputs {
  const out: BuildOutputs = { images: new Map(), natives: new Map() };
  for (const plan of RELEASE_PLAN) {
    for (const svc of SERVICES) {
      const version = plan.builds[svc.name];
      const k = key(svc.name, version);
      if (out.images.has(k)) continue;
      out.images.set(
        k,
        buildImage(REGISTRY, {
          service: svc.name,
          version,
          port: svc.port,
          healthStatus: healthFor(svc.name, version),
        }),
      );
      if (svc.mode === 'native') out.natives.set(k, buildNative(paths, svc.name, version, svc.port));
    }
  }
  return out;
}

export function imageOf(out: BuildOutputs, service: string, version: string): BuiltImage {
  const img = out.images.get(key(service, version));
  if (!img) throw new Error(`no image built for ${service} ${version}`);
  return img;
}

export function nativeOf(out: BuildOutputs, service: string, version: string): NativeArtifact {
  const n = out.natives.get(key(service, version));
  if (!n) throw new Error(`no native tarball built for ${service} ${version}`);
  return n;
}

function manifestFor(plan: ReleasePlan, out: BuildOutputs): string {
  const carried = (v: string) => (v === plan.version ? {} : { carried_from: v });
  const services = SERVICES.map((svc) => {
    const v = plan.builds[svc.name];
    const img = imageOf(out, svc.name, v);
    return {
      name: svc.name,
      service_version: v,
      image: `${img.repository}:${img.tag}`,
      digest: img.digest,
      source_hash: sourceHash(svc, v),
      ...carried(v),
    };
  });
  const natives = SERVICES.filter((s) => s.mode === 'native').map((svc) => {
    const v = plan.builds[svc.name];
    const n = nativeOf(out, svc.name, v);
    return {
      name: svc.name,
      source_hash: sourceHash(svc, v),
      ...carried(v),
      artifacts: [{ arch: ARCH, file: n.file, url: n.url, checksum: n.checksum, size_bytes: n.sizeBytes }],
    };
  });
  const doc = {
    platform_version: plan.version,
    git_commit: createHash('sha1').update(`frameworks-lab ${plan.version}`).digest('hex'),
    release_date: plan.date,
    ...(plan.minCli ? { min_cli_version: plan.minCli } : {}),
    services,
    native_binaries: natives,
  };
  const header =
    `# FrameWorks lab release ${plan.version}, generated by lab/releases.ts: images in the lab registry ` +
    `(${REGISTRY}), tarballs served from ${ARTIFACT_BASE_URL}/artifacts.\n`;
  return header + stringify(doc, { lineWidth: 0 });
}

/** Writes releases/<tag>.yaml for every planned release and the two channel pointers. */
export function writeReleaseRepository(paths: LabPaths, out: BuildOutputs): void {
  mkdirSync(join(paths.releases, 'releases'), { recursive: true });
  mkdirSync(join(paths.releases, 'channels'), { recursive: true });
  for (const plan of RELEASE_PLAN) {
    writeFileSync(join(paths.releases, 'releases', `${plan.version}.yaml`), manifestFor(plan, out));
  }
  for (const [channel, version] of Object.entries(CHANNELS)) {
    const plan = RELEASE_PLAN.find((p) => p.version === version);
    const pointer = { platform_version: version, manifest: `releases/${version}.yaml`, updated_at: plan?.date };
    writeFileSync(join(paths.releases, 'channels', `${channel}.yaml`), stringify(pointer));
  }
}

/** lab/catalog/ copied, plus the bad release declared right after v0.2.0 (comments of the original kept). */
export function writeLabCatalog(paths: LabPaths): void {
  mkdirSync(paths.catalog, { recursive: true });
  cpSync(join(LAB_CATALOG_DIR, 'services.yaml'), join(paths.catalog, 'services.yaml'));
  const doc = parseDocument(readFileSync(join(LAB_CATALOG_DIR, 'releases.yaml'), 'utf8'));
  const releases = doc.get('releases');
  if (!isSeq(releases)) throw new Error('lab/catalog/releases.yaml: releases is not a list');
  const at = releases.items.findIndex((r) => isMap(r) && r.get('version') === 'v0.2.0');
  if (at < 0) throw new Error('lab/catalog/releases.yaml does not declare v0.2.0');
  const bad = doc.createNode({ version: BAD_RELEASE, min_cli_version: 'v0.2.0' });
  bad.commentBefore = ' Lab only: a deliberately broken release (foghorn fails health) to show rollback.';
  releases.items.splice(at + 1, 0, bad);
  writeFileSync(join(paths.catalog, 'releases.yaml'), doc.toString({ lineWidth: 0 }));
}
