// `cluster.yaml`, the operator's file (SPEC §3.1). Secrets never appear here: only the names of environment
// variables and files that the worker reads.
import { z } from 'zod';
import { InputError } from '../errors';
import type { InputIssue } from '../errors';
import { parseYamlDocument, yamlText, yamlToken } from './parse';
import { ServiceNameSchema, SqlIdentifierSchema } from './catalog';
import type { ServiceDefinitions } from './catalog';

const HostNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'host names are letters, digits, ".", "_" and "-"');
const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const HostSchema = z
  .object({
    address: yamlToken,
    port: z.number().int().min(1).max(65535).default(22),
    /** The host runs dockerd, reached over SSH. */
    docker: z.boolean().default(false),
    /** Declared OS/arch (`linux-amd64`); when absent the upgrade detects it over SSH. */
    arch: z
      .string()
      .regex(/^(linux|darwin)-(amd64|arm64)$/, 'expected linux-amd64, linux-arm64 or darwin-arm64')
      .optional(),
  })
  .strict();

export const ClusterServiceSchema = z
  .object({
    mode: z.enum(['native', 'docker']),
    hosts: z.array(HostNameSchema).min(1, 'a service needs at least one host'),
    /** Non-secret configuration, rendered into the service's environment. */
    env: z.record(EnvNameSchema, yamlText).optional(),
  })
  .strict();

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
 * How native services are restarted. In YAML either the word `systemd`, or a mapping
 * `{ type: command, restart, stop, status }` of command templates (e.g. for a supervisor) that use
 * `{service}`. Parsed, it is always the tagged form `{ type: 'systemd' } | { type: 'command', … }`, so callers
 * switch on `type` and never on the YAML spelling.
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

export const DatabasesSchema = z
  .object({
    engine: z.enum(['postgres', 'yugabyte']),
    /** Connection URL without a database name, read from the worker's environment. */
    url_env: EnvNameSchema,
    names: z.array(SqlIdentifierSchema).min(1),
  })
  .strict();

function clusterRules(m: z.output<typeof ClusterShape>, ctx: z.core.$RefinementCtx): void {
  for (const [svc, s] of Object.entries(m.services)) {
    const seen = new Set<string>();
    s.hosts.forEach((h, i) => {
      const path = ['services', svc, 'hosts', i];
      const host = Object.hasOwn(m.hosts, h) ? m.hosts[h] : undefined;
      if (!host) ctx.addIssue({ code: 'custom', path, message: `unknown host "${h}" (not in hosts)` });
      else if (s.mode === 'docker' && !host.docker) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `docker service on host "${h}", which does not set docker: true`,
        });
      }
      if (seen.has(h)) ctx.addIssue({ code: 'custom', path, message: `host "${h}" listed twice` });
      seen.add(h);
    });
  }
  if (m.databases) {
    const seen = new Set<string>();
    m.databases.names.forEach((n, i) => {
      if (seen.has(n))
        ctx.addIssue({ code: 'custom', path: ['databases', 'names', i], message: `duplicate database "${n}"` });
      seen.add(n);
    });
  }
}

const ClusterShape = z
  .object({
    /** Used in workflow ids and the task queue `fw-<name>`. */
    name: z.string().regex(/^[a-z0-9-]+$/, 'must match [a-z0-9-]+ (it names the task queue fw-<name>)'),
    /** Written only by `set-channel`. */
    channel: z.enum(['stable', 'rc']).default('stable'),
    /** Tried in order: local directories or HTTP(S) base URLs. */
    release_repositories: z.array(yamlToken).min(1, 'list at least one release repository'),
    ssh: z.object({ user: yamlToken, identity_file: yamlToken, known_hosts: yamlToken }).strict(),
    hosts: z.record(HostNameSchema, HostSchema),
    databases: DatabasesSchema.optional(),
    services: z.record(ServiceNameSchema, ClusterServiceSchema),
    service_manager: ServiceManagerSchema.default({ type: 'systemd' }),
    migrations_dir: yamlToken.optional(),
    catalog_dir: yamlToken.optional(),
  })
  .strict();

export const ClusterManifestSchema = ClusterShape.superRefine(clusterRules);
export type ClusterManifest = z.infer<typeof ClusterManifestSchema>;
export type ClusterHost = ClusterManifest['hosts'][string];
export type ClusterService = ClusterManifest['services'][string];

export function parseClusterManifest(text: string, source: string): ClusterManifest {
  return parseYamlDocument(text, ClusterManifestSchema, source);
}

/** Every service the cluster names must have a definition; an unknown one could be anything, so refuse. */
export function validateClusterAgainstServices(
  cluster: ClusterManifest,
  serviceDefs: ServiceDefinitions,
  source: string,
): void {
  const issues: InputIssue[] = Object.keys(cluster.services)
    .filter((name) => !Object.hasOwn(serviceDefs, name))
    .map((name) => ({
      path: `services.${name}`,
      message: `unknown service "${name}": no definition in catalog/services.yaml`,
    }));
  if (issues.length > 0) throw new InputError(source, issues);
}
