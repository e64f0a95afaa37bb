// The catalogs shipped with the orchestrator: the release catalog (`catalog/releases.yaml`, reference §3.1 plus
// SPEC §3.3's `compatible_from` / `required_stop`) and the service definitions (`catalog/services.yaml`,
// SPEC §3.4). Every gate reads them, so a typo must fail the whole load rather than silently drop a rule.
import { z } from 'zod';
import { InputError } from '../errors';
import type { InputIssue } from '../errors';
import { baseVersion, compareVersions } from './version';
import { parseYamlDocument, yamlToken } from './parse';
import { CanonicalVersionSchema } from './release';

/** Database names reach psql and SQL text, so they are held to a plain SQL identifier. */
export const SqlIdentifierSchema = yamlToken.pipe(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a SQL identifier ([A-Za-z_][A-Za-z0-9_]*)'),
);

export const ServiceNameSchema = yamlToken.pipe(
  z.string().regex(/^[a-z][a-z0-9-]*$/, 'service names are lower-case letters, digits and "-"'),
);

export const SentinelSchema = z
  .object({
    engine: z.enum(['postgres', 'clickhouse']),
    database: SqlIdentifierSchema,
    version: CanonicalVersionSchema,
    phase: z.enum(['expand', 'postdeploy', 'contract']),
    sequence: z.number().int().min(1),
    checksum: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (SHA-256)'),
  })
  .strict();

export const DataMigrationRequirementSchema = z
  .object({
    id: yamlToken,
    service: yamlToken,
    introduced_in: CanonicalVersionSchema,
    required_before_phase: z.enum(['postdeploy', 'contract']),
    required_before_version: CanonicalVersionSchema.optional(),
    /** `service`: the service binary runs the batches (the reference's only driver); `sql`: a definition file. */
    driver: z.enum(['sql', 'service']).default('service'),
  })
  .strict();

export const CatalogReleaseSchema = z
  .object({
    version: CanonicalVersionSchema,
    min_cli_version: CanonicalVersionSchema.optional(),
    /** Lowest running (base) version a direct upgrade to this release may start from. */
    compatible_from: CanonicalVersionSchema.optional(),
    /** A hard intermediate release: nobody may jump over it from below. */
    required_stop: z.boolean().default(false),
    required_data_migrations: z.array(DataMigrationRequirementSchema).default([]),
    rollback_disabled: z.array(yamlToken).default([]),
  })
  .strict();

export const ReleaseTransitionSchema = z.object({ id: yamlToken, introduced_in: CanonicalVersionSchema }).strict();

function catalogRules(c: z.output<typeof ReleaseCatalogShape>, ctx: z.core.$RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  // Sentinels are checked only below the floor (the guard folds nothing else), so one without a floor, or at or
  // above it, would be silently inert: a proof the catalog claims to demand but never asks for.
  const floor = c.schema_migration_floor;
  if (floor === undefined && c.schema_migration_sentinels.length > 0) {
    issue(
      ['schema_migration_sentinels'],
      'sentinels prove a database ran the migrations folded below schema_migration_floor, but no floor is declared',
    );
  }
  const sentinels = new Map<string, number>();
  c.schema_migration_sentinels.forEach((s, i) => {
    const key = [s.engine, s.database, s.version, s.phase, s.sequence].join('/');
    const first = sentinels.get(key);
    if (first !== undefined)
      issue(['schema_migration_sentinels', i], `duplicate of schema_migration_sentinels[${first}] (${key})`);
    else sentinels.set(key, i);
    if (floor !== undefined && compareVersions(s.version, floor) >= 0) {
      issue(
        ['schema_migration_sentinels', i, 'version'],
        `${s.version} is not below schema_migration_floor ${floor}; a sentinel at or above the floor is never checked`,
      );
    }
  });

  // One entry per release LINE: an rc and its final share migrations, requirements and gates (base lookup).
  const lines = new Map<string, number>();
  const requirements = new Map<string, string>();
  c.releases.forEach((r, i) => {
    const line = baseVersion(r.version);
    const first = lines.get(line);
    if (first !== undefined) {
      issue(
        ['releases', i, 'version'],
        `${r.version} collides with releases[${first}] (one entry per base version ${line})`,
      );
    } else lines.set(line, i);
    if (r.compatible_from !== undefined && compareVersions(baseVersion(r.compatible_from), line) >= 0) {
      issue(['releases', i, 'compatible_from'], `${r.compatible_from} must be below the release it guards (${line})`);
    }
    const disabled = new Set<string>();
    r.rollback_disabled.forEach((name, j) => {
      if (disabled.has(name)) issue(['releases', i, 'rollback_disabled', j], `"${name}" is listed twice`);
      disabled.add(name);
    });
    r.required_data_migrations.forEach((d, j) => {
      const path = ['releases', i, 'required_data_migrations', j];
      const key = `${d.service}.${d.id}`;
      const where = `releases[${i}].required_data_migrations[${j}]`;
      if (requirements.has(key)) issue([...path, 'id'], `${key} is already required by ${requirements.get(key)}`);
      else requirements.set(key, where);
      if (d.required_before_version !== undefined && compareVersions(d.required_before_version, d.introduced_in) <= 0) {
        issue([...path, 'required_before_version'], `must be after introduced_in ${d.introduced_in}`);
      }
    });
  });

  // The compatibility-floor refusal tells the operator to deploy compatible_from first; a floor the catalog does not
  // declare would send them to a target that is itself refused as undeclared.
  c.releases.forEach((r, i) => {
    if (r.compatible_from !== undefined && !lines.has(baseVersion(r.compatible_from))) {
      issue(
        ['releases', i, 'compatible_from'],
        `${r.compatible_from} is not declared in releases (deploying it would be refused)`,
      );
    }
  });

  const transitions = new Map<string, number>();
  c.release_transitions.forEach((t, i) => {
    const first = transitions.get(t.id);
    if (first !== undefined)
      issue(['release_transitions', i, 'id'], `duplicate id "${t.id}" (first at release_transitions[${first}])`);
    else transitions.set(t.id, i);
  });
}

const ReleaseCatalogShape = z
  .object({
    /** deploy name → owning logical database. */
    service_databases: z.record(yamlToken, SqlIdentifierSchema).default({}),
    schema_migration_floor: CanonicalVersionSchema.optional(),
    schema_migration_sentinels: z.array(SentinelSchema).default([]),
    releases: z.array(CatalogReleaseSchema).default([]),
    release_transitions: z.array(ReleaseTransitionSchema).default([]),
  })
  .strict();

export const ReleaseCatalogSchema = ReleaseCatalogShape.superRefine(catalogRules).transform((c) => ({
  ...c,
  releases: [...c.releases].sort((a, b) => compareVersions(a.version, b.version)),
}));
export type ReleaseCatalog = z.infer<typeof ReleaseCatalogSchema>;
export type CatalogRelease = ReleaseCatalog['releases'][number];
export type DataMigrationRequirement = z.infer<typeof DataMigrationRequirementSchema>;
export type SchemaSentinel = z.infer<typeof SentinelSchema>;

/** Parses and validates the release catalog; releases come back sorted ascending. */
export function parseReleaseCatalog(text: string, source: string): ReleaseCatalog {
  return parseYamlDocument(text, ReleaseCatalogSchema, source);
}

export const ServiceDefinitionSchema = z
  .object({
    role: yamlToken,
    port: z.number().int().min(1).max(65535),
    /** No `path` means the health probe is a TCP connect. */
    health: z
      .object({
        path: yamlToken.pipe(z.string().startsWith('/', 'must start with "/"')).optional(),
        ready_path: yamlToken.pipe(z.string().startsWith('/', 'must start with "/"')).optional(),
      })
      .strict()
      .optional(),
    depends_on: z.array(ServiceNameSchema).default([]),
    database: SqlIdentifierSchema.optional(),
    /** Only `platform` services are upgraded by a release; the others are classified out of the plan. */
    class: z.enum(['platform', 'managed', 'infrastructure']),
    reload_on_sighup: z.boolean().default(false),
  })
  .strict();
export type ServiceDefinition = z.infer<typeof ServiceDefinitionSchema>;

export const ServiceDefinitionsSchema = z
  .record(ServiceNameSchema, ServiceDefinitionSchema)
  .superRefine((defs, ctx) => {
    for (const [name, def] of Object.entries(defs)) {
      def.depends_on.forEach((dep, i) => {
        if (dep === name)
          ctx.addIssue({ code: 'custom', path: [name, 'depends_on', i], message: 'a service cannot depend on itself' });
        else if (!Object.hasOwn(defs, dep)) {
          ctx.addIssue({ code: 'custom', path: [name, 'depends_on', i], message: `unknown service "${dep}"` });
        }
      });
    }
  });
export type ServiceDefinitions = z.infer<typeof ServiceDefinitionsSchema>;

export function parseServiceDefinitions(text: string, source: string): ServiceDefinitions {
  return parseYamlDocument(text, ServiceDefinitionsSchema, source);
}

/**
 * A service that owns a database must say so in both catalogs, with the same name: the schema and
 * data-migration gates find the ledger through `service_databases`, so a disagreement would gate the wrong DB.
 */
export function validateServicesAgainstCatalog(
  defs: ServiceDefinitions,
  catalog: ReleaseCatalog,
  source: string,
): void {
  const issues: InputIssue[] = [];
  // Every service the release catalog names must be defined, or its rule would never apply to anything.
  const unknown = (name: string, path: string) => {
    if (!Object.hasOwn(defs, name)) {
      issues.push({ path, message: `release catalog names unknown service "${name}" (not in service definitions)` });
    }
  };
  for (const name of Object.keys(catalog.service_databases)) unknown(name, `service_databases.${name}`);
  catalog.releases.forEach((r, i) => {
    r.required_data_migrations.forEach((d, j) =>
      unknown(d.service, `releases[${i}].required_data_migrations[${j}].service`),
    );
    r.rollback_disabled.forEach((name, j) => unknown(name, `releases[${i}].rollback_disabled[${j}]`));
  });
  for (const [name, def] of Object.entries(defs)) {
    if (def.database === undefined) continue;
    const owned = Object.hasOwn(catalog.service_databases, name) ? catalog.service_databases[name] : undefined;
    if (owned === undefined) {
      issues.push({
        path: `${name}.database`,
        message: `"${name}" owns database ${def.database} but the release catalog declares no service_databases entry for it`,
      });
    } else if (owned !== def.database) {
      issues.push({
        path: `${name}.database`,
        message: `"${def.database}" disagrees with the release catalog, which maps ${name} to ${owned}`,
      });
    }
  }
  if (issues.length > 0) throw new InputError(source, issues);
}
