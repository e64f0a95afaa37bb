// Loading a cluster from the operator's files (SPEC §3.1), used by the CLI and the worker alike (not an activity
// module: the CLI must be able to read local settings without the worker's code).
//
// Two depths:
// - `loadClusterSettings` — what the CLI needs: the FrameWorks manifest (strict, no hosts file, no secrets), the
//   orchestrator settings beside it, the cluster name, channel, release repositories, catalog and migrations.
// - `loadClusterConfig` — what the worker needs on top: the hosts file merged and the manifest validated as the
//   reference validates it, every host's SSH address/user (or ssh_config alias), every service by deploy name with
//   its hosts and environment, the database nodes and credentials. Encrypted files are decrypted here (SOPS+age),
//   on the worker only; nothing secret is returned by `topologyOf`.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import {
  ORCHESTRATOR_SETTINGS_FILE,
  parseOrchestratorSettings,
  type ClusterHost,
  type ClusterModel,
  type ClusterService,
  type OrchestratorSettings,
} from '../contracts/cluster';
import type { FrameworksManifest } from '../contracts/frameworks/manifest';
import { frameworksManifestProblems } from '../contracts/frameworks/validate';
import type { ClusterTopology } from '../contracts/plan';
import { databaseTargets, placedServices, resolvedChannel } from '../domain/frameworks/placement';
import { aliasFor, parseSshConfig, type SshAlias } from '../domain/hosts/ssh-config';
import { resolveSelector } from '../domain/selector';
import { errorMessage, InputError, type InputIssue } from '../errors';
import {
  loadClusterEnvs,
  loadManifestWithHosts,
  loadServiceEnvFile,
  loadSharedEnv,
  readManifestFile,
} from './frameworks';

/** The FrameWorks catalog shipped with the orchestrator (src/… and lib/… are both two levels below the root). */
export const SHIPPED_CATALOG_DIR = join(__dirname, '..', '..', 'catalog');
/** The public release repository, the reference's last resort (used only when no local gitops root is found). */
export const PUBLIC_GITOPS = 'https://raw.githubusercontent.com/Livepeer-FrameWorks/gitops/main';

/** Options that override files: CLI flags and the worker's environment. */
export interface ClusterLoadOptions {
  /** --cluster / FRAMEWORKS_CLUSTER */
  cluster?: string;
  /** FRAMEWORKS_ORCHESTRATOR_CONFIG (or a caller's explicit path) */
  settingsPath?: string;
  /** --gitops-dir / FRAMEWORKS_GITOPS_DIR */
  gitopsDir?: string;
  /** --age-key (else SOPS_AGE_KEY_FILE, else sops' default) */
  ageKeyFile?: string;
  /** --ssh-key / FRAMEWORKS_SSH_KEY */
  sshKey?: string;
  /** FRAMEWORKS_KNOWN_HOSTS */
  knownHosts?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ClusterSettings {
  name: string;
  channel: string;
  manifestPath: string;
  /** The orchestrator settings file, when one was read. */
  settingsPath?: string;
  settings: OrchestratorSettings;
  fw: FrameworksManifest;
  catalogDir: string;
  /** Undefined when no migrations source is configured: migrate/upgrade refuse with the fix. */
  migrationsDir?: string;
  /** Local folders made absolute; URLs unchanged; order kept. */
  releaseRepositories: string[];
}

export interface LoadedCluster extends ClusterSettings {
  manifest: ClusterModel;
  /** Worker-only values that never leave the worker. */
  secrets: { databasePassword?: string };
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function resolveLocal(baseDir: string, p: string): string {
  const e = expandHome(p);
  return isAbsolute(e) ? e : resolve(baseDir, e);
}

export function resolveRepository(baseDir: string, repo: string): string {
  return /^https?:\/\//i.test(repo) ? repo : resolveLocal(baseDir, repo);
}

/** The nearest ancestor of `dir` (itself included) holding clusters/, channels/ and releases/ (reference §7). */
export function findGitopsRoot(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (['clusters', 'channels', 'releases'].every((sub) => existsSync(join(d, sub)))) return d;
    if (dirname(d) === d) return undefined;
  }
}

const NAME = /^[a-z0-9-]+$/;

function clusterName(manifestPath: string, settings: OrchestratorSettings, opts: ClusterLoadOptions): string {
  const explicit = opts.cluster ?? opts.env?.FRAMEWORKS_CLUSTER ?? settings.cluster;
  if (explicit !== undefined) {
    if (!NAME.test(explicit)) {
      throw new InputError(manifestPath, `cluster name "${explicit}" must match [a-z0-9-]+ (it names the task queue)`);
    }
    return explicit;
  }
  // clusters/<env>/cluster.yaml ⇒ <env>, as the gitops layout names environments.
  const folder = basename(dirname(manifestPath));
  if (!NAME.test(folder)) {
    throw new InputError(
      manifestPath,
      `cannot name the cluster after its folder "${folder}" (needs [a-z0-9-]+): pass --cluster <name> or set cluster: in ${ORCHESTRATOR_SETTINGS_FILE}`,
    );
  }
  return folder;
}

function readSettings(
  manifestPath: string,
  opts: ClusterLoadOptions,
): { path?: string; settings: OrchestratorSettings } {
  const explicit = opts.settingsPath ?? opts.env?.FRAMEWORKS_ORCHESTRATOR_CONFIG;
  const path = explicit ? resolve(explicit) : join(dirname(manifestPath), ORCHESTRATOR_SETTINGS_FILE);
  if (!explicit && !existsSync(path)) return { settings: {} };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(
      path,
      `cannot read orchestrator settings: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return { path, settings: parseOrchestratorSettings(text, path) };
}

/** What the CLI reads: no hosts file, no env files, nothing secret. */
export async function loadClusterSettings(
  manifestPath: string,
  opts: ClusterLoadOptions = {},
): Promise<ClusterSettings> {
  const env = opts.env ?? process.env;
  const o = { ...opts, env };
  const abs = resolve(manifestPath);
  const fw = await readManifestFile(abs);
  // Every rule the reference validates that does not need the (secret) hosts file: a manifest that would be
  // refused on the worker is refused here too, before any run starts.
  const problems = frameworksManifestProblems(fw).filter((i) => !/^hosts\.[^.]+\.external_ip$/.test(i.path));
  if (problems.length > 0) throw new InputError(abs, problems);
  const { path: settingsPath, settings } = readSettings(abs, o);
  const settingsDir = settingsPath ? dirname(settingsPath) : dirname(abs);
  const gitopsDir = opts.gitopsDir ?? env.FRAMEWORKS_GITOPS_DIR;
  let releaseRepositories: string[];
  if (settings.release_repositories) {
    releaseRepositories = settings.release_repositories.map((r) => resolveRepository(settingsDir, r));
  } else {
    const local = [
      ...(gitopsDir ? [resolveRepository(process.cwd(), gitopsDir)] : []),
      ...[findGitopsRoot(dirname(abs))].filter((r): r is string => r !== undefined),
    ];
    // The reference always appends the public repository; we do so only when no local repository was found,
    // so an operator's checkout that lacks a release is reported as such instead of silently answered by GitHub.
    releaseRepositories = local.length > 0 ? [...new Set(local)] : [PUBLIC_GITOPS];
  }
  const channel = resolvedChannel(fw);
  try {
    resolveSelector(channel, 'channel');
  } catch (err) {
    throw new InputError(abs, [{ path: 'channel', message: errorMessage(err) }]);
  }
  return {
    name: clusterName(abs, settings, o),
    channel,
    manifestPath: abs,
    ...(settingsPath ? { settingsPath } : {}),
    settings,
    fw,
    catalogDir: settings.catalog_dir ? resolveLocal(settingsDir, settings.catalog_dir) : SHIPPED_CATALOG_DIR,
    ...(settings.migrations_dir ? { migrationsDir: resolveLocal(settingsDir, settings.migrations_dir) } : {}),
    releaseRepositories,
  };
}

/** The migrations folder, or a non-retryable refusal naming the fix when none is configured. */
export function requireMigrationsDir(c: ClusterSettings): string {
  if (!c.migrationsDir) throw new InputError(c.settingsPath ?? c.manifestPath, noMigrationsSource(c));
  return c.migrationsDir;
}

/** The fix an operator needs when no migrations source is configured. */
export function noMigrationsSource(c: { manifestPath: string; settingsPath?: string }): string {
  const file = c.settingsPath ?? join(dirname(c.manifestPath), ORCHESTRATOR_SETTINGS_FILE);
  return (
    `no migrations source is configured for this cluster: set migrations_dir in ${file} ` +
    `(e.g. migrations_dir: /path/to/monorepo/pkg/database/sql/migrations)`
  );
}

function sshConfigPath(settingsDir: string, settings: OrchestratorSettings): string {
  return settings.ssh?.config ? resolveLocal(settingsDir, settings.ssh.config) : join(homedir(), '.ssh', 'config');
}

function readSshAliases(path: string): Map<string, SshAlias> {
  if (!existsSync(path)) return new Map();
  try {
    return parseSshConfig(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}

/** What the worker reads: everything, secrets included. */
export async function loadClusterConfig(manifestPath: string, opts: ClusterLoadOptions = {}): Promise<LoadedCluster> {
  const env = opts.env ?? process.env;
  const base = await loadClusterSettings(manifestPath, { ...opts, env });
  const ageKeyFile = opts.ageKeyFile ?? env.SOPS_AGE_KEY_FILE;
  const loadOpts = { env, ...(ageKeyFile ? { ageKeyFile } : {}) };
  const { manifest: fw, manifestDir } = await loadManifestWithHosts(base.manifestPath, loadOpts);
  const settingsDir = base.settingsPath ? dirname(base.settingsPath) : manifestDir;
  const settings = base.settings;
  const issues: InputIssue[] = [];

  const sharedEnv = await loadSharedEnv(fw, manifestDir, loadOpts);
  const clusterEnvs = await loadClusterEnvs(fw, manifestDir, loadOpts);

  // Services by deploy name (reference: `foghorn-eu` deploys as `foghorn`), from every map the manifest has;
  // disabled entries are skipped everywhere (reference §1.8).
  const services: Record<string, ClusterService> = {};
  for (const p of placedServices(fw)) {
    const svc = p.service;
    const name = p.deploy;
    const where = `${p.section}.${p.key}`;
    const mode = svc.mode === '' ? 'docker' : svc.mode;
    if (mode !== 'native' && mode !== 'docker') {
      issues.push({ path: `${where}.mode`, message: `"${svc.mode}" is neither native nor docker` });
      continue;
    }
    // The environment a service runs with, in the reference's precedence: shared env_files, then its cluster's
    // env_files, then its own env_file, then its config map.
    const svcEnv: Record<string, string> = { ...sharedEnv };
    const clusterId = svc.cluster.trim();
    if (clusterId && clusterEnvs[clusterId]) Object.assign(svcEnv, clusterEnvs[clusterId]);
    if (svc.env_file.trim() !== '') {
      Object.assign(
        svcEnv,
        await loadServiceEnvFile(svc.env_file, manifestDir, [p.section, p.key, 'env_file'], loadOpts),
      );
    }
    Object.assign(svcEnv, svc.config);
    const existing = services[name];
    if (existing) {
      if (existing.mode !== mode) {
        issues.push({
          path: `${where}.mode`,
          message: `${p.key} deploys as ${name} in ${mode} mode, but ${existing.keys.join(', ')} run it in ${existing.mode} mode`,
        });
      }
      existing.keys.push(p.key);
      for (const h of p.hosts) if (!existing.hosts.includes(h)) existing.hosts.push(h);
    } else {
      services[name] = { mode, hosts: [...p.hosts], keys: [p.key], env: svcEnv };
    }
  }

  // Hosts: the hosts file's external_ip and user, port 22 — or an ssh_config alias that names the same address.
  const sshConfig = sshConfigPath(settingsDir, settings);
  const aliases = readSshAliases(sshConfig);
  const dockerHosts = new Set(
    Object.values(services)
      .filter((s) => s.mode === 'docker')
      .flatMap((s) => s.hosts),
  );
  const hosts: Record<string, ClusterHost> = {};
  for (const [name, h] of Object.entries(fw.hosts)) {
    const address = h.external_ip;
    const alias = aliasFor(aliases, name, address);
    const user = alias?.user ?? (h.user !== '' ? h.user : '');
    if (!user) {
      issues.push({
        path: `hosts.${name}.user`,
        message: `no SSH user for host ${name}: set user in the hosts file, or a Host ${name} alias in your ssh config`,
      });
    }
    const arch = settings.hosts?.[name]?.arch;
    hosts[name] = {
      address,
      port: alias?.port ?? 22,
      user,
      docker: dockerHosts.has(name),
      ...(arch ? { arch } : {}),
      ...(alias ? { alias: alias.alias, aliasConfig: sshConfig } : {}),
      ...(alias?.identityFile ? { identityFile: resolveLocal(homedir(), alias.identityFile) } : {}),
    };
  }
  for (const [name, s] of Object.entries(services)) {
    for (const h of s.hosts) {
      if (!Object.hasOwn(hosts, h)) {
        issues.push({ path: `services.${s.keys[0]}`, message: `${name} is placed on unknown host ${h}` });
      }
    }
  }
  if (issues.length > 0) throw new InputError(base.manifestPath, issues);

  const targets = databaseTargets(fw);
  const databasePassword = targets?.password ?? (sharedEnv.DATABASE_PASSWORD || undefined);
  const urlEnv = settings.databases?.url_env;
  const sshKey = opts.sshKey ?? env.FRAMEWORKS_SSH_KEY;
  const knownHosts = opts.knownHosts ?? env.FRAMEWORKS_KNOWN_HOSTS;
  const manifest: ClusterModel = {
    name: base.name,
    channel: base.channel,
    hosts,
    services,
    ...(targets
      ? {
          databases: {
            engine: targets.engine,
            port: targets.port,
            names: targets.databases.map((d) => d.name),
            nodes: [...targets.candidateHosts],
            ...(urlEnv ? { url_env: urlEnv } : {}),
          },
        }
      : {}),
    service_manager: settings.service_manager ?? { type: 'systemd' },
    ssh: {
      identity_file: sshKey
        ? resolveLocal(process.cwd(), sshKey)
        : resolveLocal(settingsDir, settings.ssh?.identity_file ?? '~/.ssh/id_ed25519'),
      known_hosts: knownHosts
        ? resolveLocal(process.cwd(), knownHosts)
        : resolveLocal(settingsDir, settings.ssh?.known_hosts ?? '~/.ssh/known_hosts'),
    },
    ...(fw.profile ? { profile: fw.profile } : {}),
  };
  return { ...base, fw, manifest, secrets: databasePassword ? { databasePassword } : {} };
}

export function topologyOf(loaded: LoadedCluster): ClusterTopology {
  const m = loaded.manifest;
  return {
    name: m.name,
    channel: m.channel,
    manifestPath: loaded.manifestPath,
    releaseRepositories: loaded.releaseRepositories,
    hosts: Object.fromEntries(
      Object.entries(m.hosts).map(([name, h]) => [name, { docker: h.docker, ...(h.arch ? { arch: h.arch } : {}) }]),
    ),
    services: Object.fromEntries(
      Object.entries(m.services).map(([name, s]) => [name, { mode: s.mode, hosts: [...s.hosts] }]),
    ),
    databases: m.databases?.names ?? [],
  };
}
