// Variants of the lab for tests and benchmarks that need a release or catalog the lab does not ship (a gate that
// must refuse, a slow-starting build): a SECOND cluster name over the same hosts, with its own copy of the release
// repository and catalog in a folder of its own, so `lab up` stays as fast as it is and the lab's own releases
// and catalog are never edited. The variant's worker serves task queue fw-<name>; its runs lock fw-<name>/change.
// Manifests keep pointing at the lab's artifact server and registry (content is shared, metadata is not).
import { LAB_MIGRATIONS_DIR } from './config';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { SERVICES, type LabPaths, type ServiceName } from './config';
import { clusterDocument, hostsDocument, HOSTS_FILE, ORCHESTRATOR_FILE, orchestratorDocument } from './cluster-file';
import { nativeProgram } from './fixtures/native-program';
import { provisionerPaths } from './provisioner';
import { ARCH } from './releases';
import { gzip, sha256Hex, tar } from './tar';

export interface Variant {
  name: string;
  dir: string;
  /** The variant's cluster.yaml. */
  cluster: string;
  /** Its release repository (releases/, channels/, artifacts/ for variant-only tarballs). */
  releases: string;
  /** Its catalog_dir (releases.yaml, services.yaml). */
  catalog: string;
  /** Its migrations_dir: a copy of the migrations the orchestrator ships. */
  migrations: string;
}

export interface VariantOptions {
  /** Cluster name (task queue fw-<name>); must differ from `lab`. */
  name: string;
  dir: string;
  /** Drop `arch` from every host, so the host's architecture is DETECTED (uname) by the upgrade. */
  detectArch?: boolean;
}

/** Copies the lab's release metadata and catalog into `dir` and writes a cluster.yaml that uses them. */
export function createVariant(paths: LabPaths, opts: VariantOptions): Variant {
  if (opts.name === 'lab') throw new Error('a variant needs its own cluster name');
  const v: Variant = {
    name: opts.name,
    dir: opts.dir,
    cluster: join(opts.dir, 'cluster.yaml'),
    releases: join(opts.dir, 'releases'),
    catalog: join(opts.dir, 'catalog'),
    migrations: join(opts.dir, 'migrations'),
  };
  resetVariant(paths, v);
  // Same FrameWorks manifest and hosts file as the lab; the variant's own orchestrator.yaml names its cluster,
  // release repository, catalog and migrations.
  writeFileSync(
    v.cluster,
    `# Lab variant ${v.name} (lab/variants.ts): the lab's hosts, its own releases and catalog.\n` +
      stringify(clusterDocument(), { lineWidth: 0 }),
  );
  writeFileSync(join(opts.dir, HOSTS_FILE), stringify(hostsDocument(), { lineWidth: 0 }));
  const settings = orchestratorDocument(paths) as {
    cluster: string;
    release_repositories: string[];
    catalog_dir: string;
    migrations_dir?: string;
    hosts?: Record<string, { arch?: string }>;
  };
  settings.cluster = v.name;
  settings.release_repositories = [v.releases];
  settings.catalog_dir = v.catalog;
  settings.migrations_dir = v.migrations;
  if (opts.detectArch) delete settings.hosts;
  writeFileSync(join(opts.dir, ORCHESTRATOR_FILE), stringify(settings, { lineWidth: 0 }));
  return v;
}

/** Back to an exact copy of the lab's release metadata, catalog and migrations (variant-only artifacts are kept). */
export function resetVariant(paths: LabPaths, v: Variant): void {
  mkdirSync(v.dir, { recursive: true });
  for (const sub of ['releases', 'channels']) {
    rmSync(join(v.releases, sub), { recursive: true, force: true });
    cpSync(join(paths.releases, sub), join(v.releases, sub), { recursive: true });
  }
  rmSync(v.catalog, { recursive: true, force: true });
  cpSync(paths.catalog, v.catalog, { recursive: true });
  rmSync(v.migrations, { recursive: true, force: true });
  cpSync(LAB_MIGRATIONS_DIR, v.migrations, { recursive: true });
}

type Doc = Record<string, unknown>;

/** Edits a YAML file of the variant in place (parsed → fn → written back). */
export function editYaml(file: string, fn: (doc: Doc) => void): void {
  const doc = parse(readFileSync(file, 'utf8')) as Doc;
  fn(doc);
  writeFileSync(file, stringify(doc, { lineWidth: 0 }));
}

export const releaseFile = (v: Variant, version: string): string => join(v.releases, 'releases', `${version}.yaml`);
export const catalogReleases = (v: Variant): string => join(v.catalog, 'releases.yaml');

/** Writes a new release `version` as a copy of release `from` (platform_version changed), for `edit` to adjust. */
export function copyRelease(v: Variant, from: string, version: string, edit?: (doc: Doc) => void): void {
  const doc = parse(readFileSync(releaseFile(v, from), 'utf8')) as Doc;
  doc.platform_version = version;
  edit?.(doc);
  writeFileSync(releaseFile(v, version), stringify(doc, { lineWidth: 0 }));
}

export interface VariantNative {
  url: string;
  checksum: string;
  size_bytes: number;
  file: string;
}

/**
 * A native fixture build that exists only in this variant (e.g. a slow starter), written under the variant's
 * artifacts/ and referenced by a `file://` URL (the worker fetches and verifies it like any artifact).
 */
export function buildVariantNative(
  v: Variant,
  service: ServiceName,
  version: string,
  opts: { healthyAfterMs?: number; healthStatus?: number } = {},
): VariantNative {
  const spec = SERVICES.find((s) => s.name === service);
  if (spec?.mode !== 'native') throw new Error(`${service} is not a native lab service`);
  const program = nativeProgram({
    service,
    version,
    port: spec.port,
    healthStatus: opts.healthStatus ?? 200,
    dataMigrations: false,
    envFile: provisionerPaths(service).env, // as every lab build (lab/releases.ts)
    ...(opts.healthyAfterMs !== undefined ? { healthyAfterMs: opts.healthyAfterMs } : {}),
  });
  const body = gzip(tar([{ type: 'file', path: service, mode: 0o755, body: program }]));
  const file = `frameworks-${service}-${version}-${ARCH}.tar.gz`;
  const dir = join(v.releases, 'artifacts', service, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), body);
  return { url: `file://${join(dir, file)}`, checksum: `sha256:${sha256Hex(body)}`, size_bytes: body.length, file };
}
