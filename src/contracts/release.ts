// Release repository documents: channel pointers (`channels/<channel>.yaml`) and release manifests
// (`releases/<tag>.yaml`), in exactly the real FrameWorks format (reference §2.1) so existing repositories
// parse unchanged, while a typo in any key is refused instead of silently dropping a safety field.
import { z } from 'zod';
import { versionProblem } from '../domain/version';
import { parseYamlDocument, yamlText, yamlToken } from './parse';

/** A canonical version (reference §2.4); the message carries the fixing hint. */
export const CanonicalVersionSchema = yamlText.superRefine((v, ctx) => {
  const problem = versionProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const ChecksumSchema = z
  .string()
  .regex(
    /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/,
    'expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>',
  );

export const ImageDigestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex>');

const SizeBytes = z.number().int().nonnegative();

/** Names in `required_transitions` / `rollback_disabled`: an empty or padded entry would never match. */
const IdList = z.array(yamlToken).default([]);

const RegistryImageSchema = z.object({ image: yamlToken, digest: ImageDigestSchema }).strict();

/** Per-registry copies of an image; keys are the registries CI publishes to. */
export const RegistryImagesSchema = z
  .object({ dockerhub: RegistryImageSchema.optional(), ghcr: RegistryImageSchema.optional() })
  .strict();

export const ReleaseArtifactSchema = z
  .object({
    arch: yamlToken,
    file: yamlToken.optional(),
    url: yamlToken,
    checksum: ChecksumSchema,
    size_bytes: SizeBytes.optional(),
  })
  .strict();

export const ServiceEntrySchema = z
  .object({
    name: yamlToken,
    /**
     * The label this build carries; a carried service keeps an older one (reference §2.5). Older manifests may
     * leave it empty, in which case the platform_version is the label (see getServiceInfo).
     */
    service_version: yamlText.refine((s) => s.trim() === s, 'must not have surrounding whitespace').default(''),
    image: yamlToken,
    digest: ImageDigestSchema,
    images: RegistryImagesSchema.optional(),
    source_hash: yamlToken.optional(),
    carried_from: yamlToken.optional(),
  })
  .strict();

export const NativeBinaryEntrySchema = z
  .object({
    name: yamlToken,
    source_hash: yamlToken.optional(),
    carried_from: yamlToken.optional(),
    artifacts: z.array(ReleaseArtifactSchema).default([]),
  })
  .strict();

export const InterfaceEntrySchema = ServiceEntrySchema.extend({ static_bundle: yamlToken.optional() }).strict();

export const InfrastructureEntrySchema = z
  .object({
    name: yamlToken,
    version: yamlToken,
    image: yamlToken.optional(),
    digest: ImageDigestSchema.optional(),
    artifacts: z.array(ReleaseArtifactSchema).optional(),
  })
  .strict();

export const ExternalBinarySchema = z
  .object({ name: yamlToken, url: yamlToken, checksum: ChecksumSchema, size_bytes: SizeBytes.optional() })
  .strict();

/** The one open section: upstream projects add fields the Go decoder kept in an inline map, so we keep them. */
export const ExternalDependencySchema = z
  .object({
    name: yamlToken,
    image: yamlToken.optional(),
    digest: ImageDigestSchema.optional(),
    release_url: yamlToken.optional(),
    release_tag: yamlToken.optional(),
    binaries: z.array(ExternalBinarySchema).default([]),
  })
  .catchall(z.unknown());

function uniqueNames(
  entries: readonly { name: string }[],
  section: string,
  ctx: z.core.$RefinementCtx,
  what = 'name',
): void {
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [section, i, what], message: `duplicate "${e.name}"` });
    seen.add(e.name);
  });
}

export const ReleaseManifestSchema = z
  .object({
    platform_version: CanonicalVersionSchema,
    git_commit: yamlToken,
    /** Kept as written (ISO-8601 UTC in practice); the YAML core schema never turns it into a Date. */
    release_date: yamlToken,
    min_cli_version: CanonicalVersionSchema.optional(),
    required_transitions: IdList,
    rollback_disabled: IdList,
    services: z.array(ServiceEntrySchema),
    native_binaries: z.array(NativeBinaryEntrySchema).default([]),
    interfaces: z.array(InterfaceEntrySchema).default([]),
    infrastructure: z.array(InfrastructureEntrySchema).default([]),
    external_dependencies: z.array(ExternalDependencySchema).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
    // A duplicated name would make lookups pick one entry silently; artifacts likewise per arch.
    uniqueNames(m.services, 'services', ctx);
    uniqueNames(m.native_binaries, 'native_binaries', ctx);
    uniqueNames(m.interfaces, 'interfaces', ctx);
    // `chndler` in rollback_disabled would leave chandler's rollback on while the author believes it off.
    const components = new Set([...m.services, ...m.interfaces, ...m.native_binaries].map((e) => e.name));
    m.rollback_disabled.forEach((name, i) => {
      if (!components.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rollback_disabled', i],
          message: `unknown service "${name}" (not in services, interfaces or native_binaries)`,
        });
      }
    });
    m.native_binaries.forEach((nb, i) => {
      const seen = new Set<string>();
      nb.artifacts.forEach((a, j) => {
        if (seen.has(a.arch)) {
          ctx.addIssue({
            code: 'custom',
            path: ['native_binaries', i, 'artifacts', j, 'arch'],
            message: `duplicate arch "${a.arch}"`,
          });
        }
        seen.add(a.arch);
      });
    });
  });
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

export const ChannelPointerSchema = z
  .object({
    platform_version: CanonicalVersionSchema,
    manifest: ManifestPathSchema,
    updated_at: yamlToken.optional(),
  })
  .strict();
export type ChannelPointer = z.infer<typeof ChannelPointerSchema>;

export function parseReleaseManifest(text: string, source: string): ReleaseManifest {
  return parseYamlDocument(text, ReleaseManifestSchema, source);
}

export function parseChannelPointer(text: string, source: string): ChannelPointer {
  return parseYamlDocument(text, ChannelPointerSchema, source);
}
