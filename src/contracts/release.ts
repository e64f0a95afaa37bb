// Release repository documents: channel pointers (`channels/<channel>.yaml`) and release manifests
// (`releases/<tag>.yaml`), decoded exactly as the reference's Go decoder decodes them (reference
// frameworks-real-world.md §5, cli-behaviour §2.1) so every real repository parses unchanged:
//
// - every field is optional on input (Go zero values): the 109 published manifests span several shapes, and
//   what a field's absence means is decided later — by identity binding, artifact validation and the per-service
//   artifact gate — never by the decoder (which would refuse a whole release for one unpinnable tarball);
// - unknown keys are refused everywhere except in `external_dependencies[]` entries, which keep them;
// - empty input and a second YAML document are refused (parseYamlDocument);
// - `release_date` / `updated_at` are timestamps, accepted in exactly the forms yaml.v3 + time.Time accept;
// - then the compatibility metadata is validated as the reference's validateManifestCompat does.
//
// Values stay JSON-plain: timestamps are kept as the text the file says, absent or null fields are omitted.
import { isScalar, parseDocument, Scalar } from 'yaml';
import { z } from 'zod';
import { InputError, type InputIssue } from '../errors';
import { isRegistryId } from './frameworks/registry';
import { parseYamlDocument, yamlText, yamlToken } from './parse';
import { versionProblem } from './version';

/** A canonical version (reference §2.4); the message carries the fixing hint. */
export const CanonicalVersionSchema = yamlText.superRefine((v, ctx) => {
  const problem = versionProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Go leaves a field at its zero value for `key: ~`; we omit it, exactly as if the key were absent. */
const nullAsAbsent = (v: unknown): unknown => (v === null ? undefined : v);

/**
 * A Go `string` field: yaml.v3 stores the text of any scalar (`version: 18.4`, `release_tag: 3.10`, `true`).
 * parseYamlDocument keeps the source text of numbers that would not round-trip, so the text is what the file says.
 */
const goString = z.preprocess(
  (v) => (v === null ? undefined : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  z.string().optional(),
);

/** A Go `string` that the reference always reads (names, labels): absent means "". */
const goStringZero = z.preprocess(
  (v) => (v === null || v === undefined ? '' : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  z.string(),
);

/** A Go `int64`. */
const goInt = z.preprocess(nullAsAbsent, z.number().int('expected a whole number').optional());

/** A Go slice: absent or null is empty. */
const goList = <T extends z.ZodType>(item: T) => z.preprocess((v) => v ?? [], z.array(item));

/** A Go struct inside a list: a null entry is a zero-valued struct. */
const goEntry = <T extends z.ZodType>(shape: T) => z.preprocess((v) => v ?? {}, shape);

// yaml.v3 resolves an unquoted scalar as a timestamp in these layouts (resolve.go allowedTimestampFormats, Go
// time.Parse semantics: 4-digit year, 1–2 digit month/day/hour/minute/second, optional `.`/`,` fraction, `T`/`t`
// with a zone, or a space without one).
const PLAIN_TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,]\d+)?))?$/;
// Anything else reaches time.Time's UnmarshalText, which takes RFC 3339 only.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function validDate(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && s < 60;
}

function isRfc3339(v: string): boolean {
  const m = RFC3339.exec(v);
  if (!m) return false;
  const n = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return validDate(n[0]!, n[1]!, n[2]!, n[3], n[4], n[5]) && n[6]! < 24 && n[7]! < 60;
}

function isPlainTimestamp(v: string): boolean {
  const m = PLAIN_TIMESTAMP.exec(v);
  if (!m) return false;
  const [y, mo, d, h1, mi1, s1, h2, mi2, s2] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  return validDate(y!, mo!, d!, h1 ?? h2 ?? 0, mi1 ?? mi2 ?? 0, s1 ?? s2 ?? 0);
}

const TIMESTAMP_HINT = 'expected a timestamp such as 2026-01-15T10:20:30Z';

/**
 * A Go `time.Time`: kept as written. A plain scalar passes in any yaml.v3 timestamp layout; a quoted one must be
 * RFC 3339 (checked against the node's style in quotedTimestampIssues, which the parsed value cannot show).
 */
const goTimestamp = z.preprocess(
  nullAsAbsent,
  z
    .string({ error: TIMESTAMP_HINT })
    .refine((v) => isPlainTimestamp(v) || isRfc3339(v), `not a timestamp; ${TIMESTAMP_HINT}`)
    .optional(),
);

/** A quoted timestamp yaml.v3 hands to time.Time.UnmarshalText, which accepts RFC 3339 only. */
function quotedTimestampIssues(text: string, keys: readonly string[]): InputIssue[] {
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: false });
  const issues: InputIssue[] = [];
  for (const key of keys) {
    const node: unknown = doc.get(key, true);
    if (!isScalar(node) || node.type === Scalar.PLAIN || typeof node.value !== 'string') continue;
    if (isPlainTimestamp(node.value) && !isRfc3339(node.value)) {
      issues.push({ path: key, message: `a quoted timestamp must be RFC 3339; ${TIMESTAMP_HINT} (or unquote it)` });
    }
  }
  return issues;
}

// --- compatibility metadata (reference validateManifestCompat) -------------------------------------------------

/** `min_cli_version`: blank means "no floor"; otherwise it must be canonical once trimmed (as the reference reads it). */
const MinCliVersionSchema = goString.transform((v, ctx) => {
  const trimmed = v?.trim() ?? '';
  if (trimmed === '') return undefined;
  const problem = versionProblem(trimmed);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  return trimmed;
});

/** An id list entry: `IsRollbackDisabled` and the transition registry match exactly, so padding would never match. */
const idEntry = (what: string) =>
  goStringZero.superRefine((v, ctx) => {
    if (v.trim() === '') ctx.addIssue({ code: 'custom', message: `empty ${what}` });
    else if (v.trim() !== v) {
      ctx.addIssue({ code: 'custom', message: `"${v}" has surrounding whitespace; write the canonical "${v.trim()}"` });
    }
  });

const RequiredTransitionSchema = idEntry('transition id');

/** A typo here (`chandlr`) would silently leave rollback on; the reference checks its compiled service registry. */
const RollbackDisabledSchema = idEntry('deploy name').superRefine((v, ctx) => {
  if (v.trim() !== '' && v.trim() === v && !isRegistryId(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown service "${v}"; every entry must be a canonical service id (e.g. chandler, foghorn)`,
    });
  }
});

// --- sections ---------------------------------------------------------------------------------------------------

const RegistryImageSchema = goEntry(z.object({ image: goString, digest: goString }).strict());

/** Per-registry copies of an image (`dockerhub`, `ghcr` today); Go reads any key, so do we. */
export const RegistryImagesSchema = z.preprocess(nullAsAbsent, z.record(z.string(), RegistryImageSchema).optional());

export const ReleaseArtifactSchema = goEntry(
  z
    .object({
      arch: goString,
      file: goString,
      url: goString,
      /** `sha256:<hex>` or `sha512:<hex>`; absent in some published releases. Judged by the artifact gate. */
      checksum: goString,
      size_bytes: goInt,
    })
    .strict(),
);

export const ServiceEntrySchema = goEntry(
  z
    .object({
      name: goStringZero,
      /**
       * The label this build carries; a carried service keeps an older one (reference §2.5), and v0.2.3…v0.2.32
       * say `0.2.0` throughout. Empty means the platform_version is the label (see getServiceInfo).
       */
      service_version: goStringZero,
      image: goString,
      digest: goString,
      images: RegistryImagesSchema,
      source_hash: goString,
      carried_from: goString,
    })
    .strict(),
);

export const NativeBinaryEntrySchema = goEntry(
  z
    .object({
      name: goStringZero,
      source_hash: goString,
      carried_from: goString,
      artifacts: goList(ReleaseArtifactSchema),
    })
    .strict(),
);

export const InterfaceEntrySchema = goEntry(
  z
    .object({
      name: goStringZero,
      service_version: goStringZero,
      image: goString,
      digest: goString,
      static_bundle: goString,
      images: RegistryImagesSchema,
      source_hash: goString,
      carried_from: goString,
    })
    .strict(),
);

export const InfrastructureEntrySchema = goEntry(
  z
    .object({
      name: goStringZero,
      version: goString,
      image: goString,
      digest: goString,
      artifacts: goList(ReleaseArtifactSchema),
    })
    .strict(),
);

export const ExternalBinarySchema = goEntry(
  z.object({ name: goStringZero, url: goString, checksum: goString, size_bytes: goInt }).strict(),
);

/** The one open section: upstream projects add fields the Go decoder keeps in an inline map, so we keep them. */
export const ExternalDependencySchema = goEntry(
  z
    .object({
      name: goStringZero,
      image: goString,
      digest: goString,
      release_url: goString,
      release_tag: goString,
      binaries: goList(ExternalBinarySchema),
    })
    .catchall(z.unknown()),
);

export const ReleaseManifestSchema = z
  .object({
    /** Checked (canonical, byte-equal to the requested tag) by bindManifestIdentity, as the reference does. */
    platform_version: goStringZero,
    git_commit: goStringZero,
    /** Kept as written (RFC 3339 UTC in every published manifest); '' when absent, like Go's zero time. */
    release_date: goTimestamp.transform((v) => v ?? ''),
    min_cli_version: MinCliVersionSchema,
    required_transitions: goList(RequiredTransitionSchema),
    rollback_disabled: goList(RollbackDisabledSchema),
    services: goList(ServiceEntrySchema),
    native_binaries: goList(NativeBinaryEntrySchema),
    interfaces: goList(InterfaceEntrySchema),
    infrastructure: goList(InfrastructureEntrySchema),
    external_dependencies: goList(ExternalDependencySchema),
  })
  .strict();
export type ReleaseManifest = z.infer<typeof ReleaseManifestSchema>;
export type ReleaseServiceEntry = z.infer<typeof ServiceEntrySchema>;
export type ReleaseInterfaceEntry = z.infer<typeof InterfaceEntrySchema>;
export type NativeBinaryEntry = z.infer<typeof NativeBinaryEntrySchema>;
export type ReleaseArtifact = z.infer<typeof ReleaseArtifactSchema>;

/** Where a pointer may send the reader: a relative file under `releases/`, never outside the repository. */
export const ManifestPathSchema = yamlToken.superRefine((p, ctx) => {
  const segments = p.split('/');
  const bad =
    !p.startsWith('releases/') ||
    p.includes('\\') ||
    p.includes('://') ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) ctx.addIssue({ code: 'custom', message: `"${p}" must be a relative path under releases/ without ".."` });
});

/** Reference parseChannelPointer: strict, a canonical platform_version and a manifest path are required. */
export const ChannelPointerSchema = z
  .object({
    platform_version: CanonicalVersionSchema,
    manifest: ManifestPathSchema,
    updated_at: goTimestamp,
  })
  .strict();
export type ChannelPointer = z.infer<typeof ChannelPointerSchema>;

/** Decodes with the schema, then adds the quoted-timestamp issues only the YAML node can reveal. */
function parseWithTimestamps<T>(text: string, schema: z.ZodType<T>, source: string, timestampKeys: string[]): T {
  let value: T | undefined;
  let failure: InputError | undefined;
  try {
    value = parseYamlDocument(text, schema, source);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    failure = err;
  }
  // A syntax problem (path '') means the node tree is not worth inspecting.
  const extra = failure?.issues.some((i) => i.path === '') ? [] : quotedTimestampIssues(text, timestampKeys);
  if (failure || extra.length > 0) {
    throw new InputError(source, [...(failure?.issues ?? []), ...extra], failure ? { cause: failure } : undefined);
  }
  return value as T;
}

/**
 * Decode + compatibility metadata, like the reference's parseManifest. Identity (platform_version) and artifact
 * URLs are checked by the caller against the tag it asked for: see validateReleaseManifest in domain/release.
 */
export function parseReleaseManifest(text: string, source: string): ReleaseManifest {
  return parseWithTimestamps(text, ReleaseManifestSchema, source, ['release_date']);
}

export function parseChannelPointer(text: string, source: string): ChannelPointer {
  return parseWithTimestamps(text, ChannelPointerSchema, source, ['updated_at']);
}
