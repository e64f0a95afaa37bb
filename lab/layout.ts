// On-host layout conventions shared by the lab (which installs v0.1.0) and the upgrade activities (which find
// and change it). Pure: paths as the HOST sees them, the env-file rendering and the config hash. lab/README.md
// documents the same facts for people; keep the two in step.
import { renderEnvConfig } from '../src/domain/hosts/service-config';

export const OPT_ROOT = '/opt/frameworks';
export const ETC_ROOT = '/etc/frameworks';
/** Adoption markers of the data-migrations protocol (service-driver.ts DEFAULT_MARKER_DIR). */
export const MARKER_DIR = `${ETC_ROOT}/data-migrations`;
/** Secrets the lab hands a service (never rendered by an upgrade, never part of the config hash). */
export const SECRETS_DIR = `${ETC_ROOT}/secrets`;

/** The per-host supervisor (a systemd stand-in) and where it keeps pid files and logs. */
export const SUPERVISOR = `${OPT_ROOT}/bin/fw-svc`;
export const SUPERVISOR_RUN_DIR = '/run/fw-svc';

/**
 * orchestrator.yaml `service_manager` for the lab: systemd, as in production. The lab's native host (h1) boots real
 * systemd and its services are units the provisioner's way (lab/provisioner.ts); docker hosts have no native service.
 */
export const SERVICE_MANAGER = { type: 'systemd' } as const;

/** Where a native service lives on its host. `identity` is the tarball's sha256 hex (no prefix). */
export function nativePaths(service: string) {
  const dir = `${OPT_ROOT}/${service}`;
  return {
    dir,
    releases: `${dir}/releases`,
    release: (identityHex: string) => `${dir}/releases/${identityHex}`,
    /** Symlink to `releases/<hex>` (relative, so it resolves from any mount of the folder). */
    current: `${dir}/current`,
    /** The executable inside every tarball is `<service>` at the archive root. */
    bin: `${dir}/current/${service}`,
    env: `${dir}/env`,
    installed: `${dir}/installed.json`,
    secrets: `${SECRETS_DIR}/${service}.env`,
    pidFile: `${SUPERVISOR_RUN_DIR}/${service}.pid`,
    log: `${SUPERVISOR_RUN_DIR}/${service}.log`,
  };
}

/** `installed.json` next to a native install: what detect reads instead of asking the binary. */
export interface InstalledRecord {
  /** `sha256:<hex>` of the tarball that was unpacked into releases/<hex>. */
  identity: string;
  version: string;
  config_hash: string;
  /** What ran before (the upgrade activities write it; a fresh install has none). */
  previous: { identity: string; version: string; config_hash: string } | null;
  artifact: { url: string; checksum: string; size_bytes: number };
  installed_at: string;
}

export function containerName(service: string): string {
  return `frameworks-${service}`;
}

/** Labels on every docker service container. The image digest is in the container's Config.Image. */
export const LABELS = {
  service: 'frameworks.service',
  version: 'frameworks.version',
  configHash: 'frameworks.config_hash',
} as const;

/** Env variable a docker service receives with the config hash, so its /health can report it. */
export const CONFIG_HASH_ENV = 'FRAMEWORKS_CONFIG_HASH';

/**
 * The env file and the config hash are the orchestrator's own (src/domain/hosts/service-config.ts): the lab must
 * install exactly what an upgrade would render, or the first upgrade would see every service's config changed.
 */
export function renderEnvFile(env: Record<string, string>): string {
  return renderEnvConfig(env).text;
}

/** Lowercase hex SHA-256 of the rendered env file: equal config ⇔ equal hash, whatever the key order. */
export function configHash(env: Record<string, string>): string {
  return renderEnvConfig(env).hash;
}
