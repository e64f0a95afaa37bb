// The cluster as the orchestrator sees it (SPEC §3.1). The operator's file is FrameWorks' own cluster manifest
// (contracts/frameworks/manifest.ts reads it exactly as the reference decoder does); what the orchestrator needs
// beyond it — SSH key and known_hosts, a release-repository override, the service manager, the migrations
// source — comes from flags, environment variables or the small orchestrator settings file below, never from
// extra keys in the manifest (the reference would reject them). `ClusterModel` is what both are resolved into
// (config/cluster.ts): every host with its SSH address and user, every service by deploy name with its hosts.
import { z } from 'zod';
import { parseYamlDocument, yamlToken } from './parse';

const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** Placeholder a command template must use; the activity substitutes a shell-quoted service name. */
export const SERVICE_PLACEHOLDER = '{service}';

const CommandTemplate = yamlToken.superRefine((t, ctx) => {
  const unknown = [...t.matchAll(/\{[^}]*\}/g)].map((m) => m[0]).filter((p) => p !== SERVICE_PLACEHOLDER);
  if (unknown.length > 0)
    ctx.addIssue({ code: 'custom', message: `unknown placeholder ${unknown.join(', ')}; only {service}` });
  else if (!t.includes(SERVICE_PLACEHOLDER)) {
    ctx.addIssue({ code: 'custom', message: 'must contain {service}, or every service would run the same command' });
  }
});

/**
 * How native services are restarted. In YAML either the word `systemd` (production: the provisioner's
 * `frameworks-<svc>.service` units), or a mapping `{ type: command, restart, stop, status }` of command templates
 * that use `{service}` (e.g. a supervisor). Parsed, it is always the tagged form, so callers switch on `type`.
 */
export const ServiceManagerSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.discriminatedUnion(
    'type',
    [
      z.object({ type: z.literal('systemd') }).strict(),
      z
        .object({
          type: z.literal('command'),
          restart: CommandTemplate,
          stop: CommandTemplate,
          status: CommandTemplate,
        })
        .strict(),
    ],
    { error: 'expected systemd, or { type: command, restart, stop, status }' },
  ),
);
export type ServiceManager = z.infer<typeof ServiceManagerSchema>;

/** File name looked for beside the manifest when FRAMEWORKS_ORCHESTRATOR_CONFIG names no other file. */
export const ORCHESTRATOR_SETTINGS_FILE = 'orchestrator.yaml';

/**
 * The orchestrator's own settings for one cluster (every key optional; flags and environment variables override).
 * Relative paths are relative to this file's folder; `~` is the worker's home.
 */
export const OrchestratorSettingsSchema = z
  .object({
    /** Cluster name for workflow ids and the task queue `fw-<name>`; default: the manifest's folder name. */
    cluster: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'must match [a-z0-9-]+ (it names the task queue fw-<name>)')
      .optional(),
    ssh: z
      .object({
        /** Private key (the reference's --ssh-key). Default ~/.ssh/id_ed25519. */
        identity_file: yamlToken.optional(),
        /** Pinned host keys; hosts are verified against it. Default ~/.ssh/known_hosts. */
        known_hosts: yamlToken.optional(),
        /** OpenSSH client config whose `Host <name>` / `Host frameworks-<name>` aliases are honoured. */
        config: yamlToken.optional(),
      })
      .strict()
      .optional(),
    /** Tried in order instead of the gitops root / FRAMEWORKS_GITOPS_DIR / public repository. */
    release_repositories: z.array(yamlToken).min(1).optional(),
    service_manager: ServiceManagerSchema.optional(),
    /** Where the schema and data migrations live (e.g. the platform's pkg/database/sql/migrations). No default. */
    migrations_dir: yamlToken.optional(),
    /** Release catalog and service definitions; default: the FrameWorks catalog shipped with the orchestrator. */
    catalog_dir: yamlToken.optional(),
    databases: z
      .object({
        /**
         * A worker environment variable holding a server URL (no database name) that reaches the databases
         * directly. Without it the worker tunnels through SSH to a healthy database node, as the reference works
         * on the node itself.
         */
        url_env: EnvNameSchema.optional(),
      })
      .strict()
      .optional(),
    /** Per-host facts the manifest has no key for: the host's OS/arch (else detected over SSH). */
    hosts: z
      .record(
        z.string(),
        z
          .object({
            arch: z
              .string()
              .regex(/^(linux|darwin)-(amd64|arm64)$/, 'expected linux-amd64, linux-arm64 or darwin-arm64')
              .optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type OrchestratorSettings = z.infer<typeof OrchestratorSettingsSchema>;

export function parseOrchestratorSettings(text: string, source: string): OrchestratorSettings {
  return parseYamlDocument(text, OrchestratorSettingsSchema, source) ?? {};
}

/** A host as the worker reaches it: the hosts file's external_ip and user (or an ssh_config alias), port 22. */
export interface ClusterHost {
  address: string;
  port: number;
  user: string;
  /** A platform service placed here runs in docker, so the host runs dockerd. */
  docker: boolean;
  arch?: string;
  /** The ssh_config alias that supplied address/port/user/key, when one did, and the file it is in. */
  alias?: string;
  aliasConfig?: string;
  identityFile?: string;
}

/** A platform service by its deploy name, with every host any of its manifest entries places it on. */
export interface ClusterService {
  mode: 'native' | 'docker';
  hosts: string[];
  /** Manifest keys that deploy as this service (`foghorn-eu`, `foghorn-us` → `foghorn`). */
  keys: string[];
  /** The environment the service runs with (worker only: it may carry values from encrypted env files). */
  env?: Record<string, string>;
}

export interface ClusterDatabases {
  engine: 'postgres' | 'yugabyte';
  port: number;
  /** Database names (the manifest's infrastructure.postgres.databases, Yugabyte aliases expanded). */
  names: string[];
  /** Database nodes in manifest order; the first that answers is used. */
  nodes: string[];
  /** Direct-connection override (a worker env var holding a server URL). */
  url_env?: string;
}

export interface ClusterModel {
  name: string;
  /** `stable`, `rc`, or a concrete tag pinning a release (the manifest's `channel`, default stable). */
  channel: string;
  hosts: Record<string, ClusterHost>;
  services: Record<string, ClusterService>;
  databases?: ClusterDatabases;
  service_manager: ServiceManager;
  ssh: { identity_file: string; known_hosts: string };
  profile?: string;
}
