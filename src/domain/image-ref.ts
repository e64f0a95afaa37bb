// The one reader of container image references (`[registry[:port]/]path[:tag][@sha256:<hex>]`), used by the docker
// driver (pull and create pinned by digest), the registry gate (which registry to ask for which manifest), compose
// detection (the version label is the tag, the identity the digest for the repository) and the upgrade plan. Pure;
// tested by value in test/unit/image-ref.test.ts.
//
// The grammar is Docker's distribution reference, narrowed to what this tool pins by: sha256 digests only.
// A registry is the first component when there is more than one and it looks like a host (has a `.` or a `:` port,
// or is `localhost`); otherwise the name is Docker Hub's, where a one-component name lives under `library/`.

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** The default registry of a name without one (what `docker pull nginx` asks). */
export const DOCKER_HUB = 'registry-1.docker.io';

export interface ImageRef {
  /** The name as written, without tag and digest: `10.77.1.1:5000/frameworks/purser`, `nginx`. */
  repository: string;
  /** `host[:port]` of the registry the name starts with; null for a Docker Hub name (`nginx`, `bitnami/redis`). */
  registry: string | null;
  /** The repository inside its registry: `frameworks/purser`; `library/nginx` for an official Docker Hub image. */
  path: string;
  tag: string | null;
  /** `sha256:<64 hex>`, or null when the reference is not pinned. */
  digest: string | null;
}

/** A reference's `@digest` suffix split off (null when there is no `@`); the digest itself is not checked here. */
function splitDigest(ref: string): { name: string; digest: string | null } {
  const at = ref.lastIndexOf('@');
  return at < 0 ? { name: ref, digest: null } : { name: ref.slice(0, at), digest: ref.slice(at + 1) };
}

/** The tag is after the last `:` that follows the last `/` (a registry port is not a tag). */
function splitTag(name: string): { repository: string; tag: string | null } {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/')
    ? { repository: name.slice(0, colon), tag: name.slice(colon + 1) }
    : { repository: name, tag: null };
}

/** Reads `ref`; throws with the reason when it is not an image reference. */
export function parseImageRef(ref: string): ImageRef {
  const bad = (why: string): Error => new Error(`image reference ${JSON.stringify(ref)} is invalid: ${why}`);
  const { name, digest } = splitDigest(ref);
  if (digest !== null && !DIGEST.test(digest)) throw bad(`the digest "${digest}" is not sha256:<64 lowercase hex>`);
  const { repository, tag } = splitTag(name);
  if (tag !== null && !TAG.test(tag)) throw bad(`the tag "${tag}" is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  const parts = repository.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !HOST.test(first)) throw bad(`the registry "${first}" is not host[:port]`);
  const pathParts = hasRegistry ? parts.slice(1) : parts;
  const wrong = pathParts.find((p) => !PATH_COMPONENT.test(p));
  if (wrong !== undefined) {
    throw bad(`the name component "${wrong}" is not lowercase [a-z0-9] separated by ".", "_", "__" or "-"`);
  }
  const path = pathParts.join('/');
  return {
    repository,
    registry: hasRegistry ? first : null,
    path: !hasRegistry && pathParts.length === 1 ? `library/${path}` : path,
    tag,
    digest,
  };
}

/** A reference pinned by digest (what the docker driver pulls and runs); a tag alone moves, so it is refused. */
export function pinnedImageRef(ref: string): ImageRef & { digest: string } {
  let parsed: ImageRef | null = null;
  try {
    parsed = parseImageRef(ref);
  } catch {
    // reported below with the expected form
  }
  if (parsed?.digest == null) throw new Error(`image reference "${ref}" is not <repository>[:tag]@sha256:<64 hex>`);
  return { ...parsed, digest: parsed.digest };
}

/** `repository@digest`: the reference docker pulls and creates containers from (the tag is only a label). */
export function pinnedName(ref: ImageRef & { digest: string }): string {
  return `${ref.repository}@${ref.digest}`;
}

/**
 * The digest a reference pins, or null. Reads only the `@sha256:<64 hex>` suffix, so a reference whose name this
 * parser would refuse still yields its digest (the identity decisions of the upgrade compare digests only).
 */
export function imageDigest(ref: string): string | null {
  const { digest } = splitDigest(ref);
  return digest !== null && DIGEST.test(digest) ? digest : null;
}

/** The reference with its `@digest` removed (the tag kept), as written. */
export function withoutDigest(ref: string): string {
  return splitDigest(ref).name;
}

/** A bare image id (`sha256:<hex>`) as docker shows it for a container whose image lost its name. */
const isImageId = (image: string): boolean => /^sha256:[0-9a-f]+$/.test(image);

/**
 * The version label of a container's image (reference §6.5): its tag; none for a bare image id, a reference
 * without a tag, or text that is no reference.
 */
export function imageTagVersion(image: string): string | null {
  if (isImageId(image)) return null;
  try {
    return parseImageRef(image).tag;
  } catch {
    return null;
  }
}

/**
 * The repository of a container's image, for finding its RepoDigests entry: without tag and digest; a bare image id
 * (or text that is no reference) as it is.
 */
export function imageRepository(image: string): string {
  if (isImageId(image)) return image;
  try {
    return parseImageRef(image).repository;
  } catch {
    return image;
  }
}
