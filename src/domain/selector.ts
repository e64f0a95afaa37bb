// Version selectors and release channels (reference §2.3): what an operator types after `--version`,
// `--channel` or `--to-version`, turned into a channel and a concrete tag (or "latest" of a channel).
import { InputError } from '../errors';
import { isPrerelease, normalizeVersionInput, validateVersion } from '../contracts/version';

export type Channel = 'stable' | 'rc';
export const CHANNELS: readonly Channel[] = ['stable', 'rc'];

export interface ResolvedSelector {
  channel: Channel;
  /** `latest` = the head of `channel`; otherwise a canonical tag kept exactly as given (build metadata too). */
  version: 'latest' | (string & {});
}

/** A concrete tag belongs to `rc` iff it has a prerelease part; build metadata does not count. */
export function channelOfVersion(tag: string): Channel {
  return isPrerelease(tag) ? 'rc' : 'stable';
}

/**
 * `""`/`latest`/`stable` → stable head, `rc` → rc head, a tag (with or without `v`) → that tag on the channel
 * its prerelease implies. Anything else is refused here rather than becoming a path in a repository request.
 */
export function resolveSelector(selector?: string, what = '--version'): ResolvedSelector {
  const raw = (selector ?? '').trim();
  const keyword = raw.toLowerCase();
  if (keyword === '' || keyword === 'latest' || keyword === 'stable') return { channel: 'stable', version: 'latest' };
  if (keyword === 'rc') return { channel: 'rc', version: 'latest' };
  const version = validateVersion(normalizeVersionInput(raw), what);
  return { channel: channelOfVersion(version), version };
}

/** `--channel` input: trimmed and lower-cased; only the two cluster release channels exist. */
export function normalizeChannel(input: string, what = '--channel'): Channel {
  const c = input.trim().toLowerCase();
  if (c === 'stable' || c === 'rc') return c;
  if (c === 'edge') {
    throw new InputError(
      what,
      '"edge" is the edge-node release track, not a cluster release channel; use stable or rc',
    );
  }
  throw new InputError(what, `unknown release channel ${JSON.stringify(input)}; use stable or rc`);
}

/** `""` or `latest` in any case/spacing mean "the channel head" and become ""; a concrete value is trimmed. */
export function normalizeTargetVersion(input: string): string {
  const v = input.trim();
  return v.toLowerCase() === 'latest' ? '' : v;
}

export type MigrationTarget = { source: 'explicit'; version: string } | { source: 'channel' };

/**
 * The pure half of choosing a migration target. An explicit `--to-version` must already be canonical: a
 * channel name or `1.2.3` is refused instead of guessed, because migrations are keyed by exact version
 * directories. Without one, the caller fetches the channel head and passes it to `migrationTargetFromHead`.
 */
export function resolveMigrationTarget(explicit?: string, what = '--to-version'): MigrationTarget {
  if (explicit === undefined || explicit === '') return { source: 'channel' };
  return { source: 'explicit', version: validateVersion(explicit, what) };
}

/** The channel head's platform_version as a migration target; it must be concrete. */
export function migrationTargetFromHead(platformVersion: string, channel: Channel): string {
  try {
    return validateVersion(platformVersion, `channel ${channel}`);
  } catch (err) {
    throw new InputError(
      `channel ${channel}`,
      `head platform_version ${JSON.stringify(platformVersion)} is not a concrete version; pass --to-version vX.Y.Z`,
      { cause: err },
    );
  }
}
