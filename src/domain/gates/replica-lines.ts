// Which release line each replica is PROVEN to be on (SPEC §6 gates; reference §2.5; issue 11 items 1, 2, 9).
//
// A carried service keeps its old version label (the lab's v0.2.0 carries foghorn at v0.1.0), so the label says
// nothing about which release a replica belongs to. Its content identity does: the releases whose manifests pin
// exactly that image digest / tarball SHA-256 for that service ship that very content. So:
// - floors and required stops judge a replica by the NEWEST release pinning its identity (it runs exactly what that
//   release ships for the service), the label only when no manifest pins the identity;
// - a downgrade is a replica whose identity the target does not pin and whose OLDEST pinning release (the code's
//   first release) is newer than the target — a carried identity pinned by the target's line too is not "newer";
// - neither an identity pinned anywhere nor a readable label ⇒ unknown, which the gate refuses (fail closed).
import type { ServiceTarget } from '../../contracts/plan';
import type { ReleaseManifest } from '../../contracts/release';
import { pinKey, type HostDetection, type PinQuery, type ReleasePins } from '../../contracts/upgrade';
import { artifactIdentity } from '../artifacts';
import { imageDigest } from '../image-ref';
import { getServiceInfo } from '../release';
import {
  compareVersions,
  isCanonicalVersion,
  normalizeVersionInput,
  stripGitDescribeSuffix,
} from '../../contracts/version';

/**
 * The identity a replica will run after the upgrade: the image digest, or the tarball for the host's arch; null when
 * the release pins none for it (then nothing is "already at target").
 */
export function targetIdentityFor(target: ServiceTarget, d: Pick<HostDetection, 'arch'>): string | null {
  if (target.mode === 'native') return artifactIdentity(target.artifacts.find((a) => a.arch === d.arch));
  return imageDigest(target.imageRef ?? '');
}

/** The (service, identity) pairs worth asking the release repository about: every detected identity, once. */
export function pinQueries(detections: Record<string, HostDetection[]>): PinQuery[] {
  const seen = new Map<string, PinQuery>();
  for (const [service, ds] of Object.entries(detections)) {
    for (const d of ds) {
      if (d.present && d.identity) seen.set(pinKey(service, d.identity), { service, identity: d.identity });
    }
  }
  return [...seen.values()].sort((a, b) => pinKey(a.service, a.identity).localeCompare(pinKey(b.service, b.identity)));
}

export type ReplicaLine =
  | { kind: 'identity'; service: string; host: string; line: string; first: string; pinnedBy: string[] }
  | { kind: 'label'; service: string; host: string; line: string; why: string }
  | { kind: 'unknown'; service: string; host: string; why: string };

function short(identity: string): string {
  return identity.replace(/^(sha\d+:)?([0-9a-f]{12})[0-9a-f]+$/, '$1$2…');
}

/** A label this tool can compare: canonical after normalising `1.2.3` and stripping a git-describe suffix. */
function readableLabel(label: string | null): string | undefined {
  if (!label) return undefined;
  const v = normalizeVersionInput(stripGitDescribeSuffix(label.trim()));
  return isCanonicalVersion(v) ? v : undefined;
}

export function judgeReplicaLine(service: string, d: HostDetection, pins: ReleasePins): ReplicaLine {
  const pinnedBy = d.identity ? [...(pins.pins[pinKey(service, d.identity)] ?? [])] : [];
  pinnedBy.sort(compareVersions);
  if (pinnedBy.length > 0) {
    return { kind: 'identity', service, host: d.host, line: pinnedBy.at(-1)!, first: pinnedBy[0]!, pinnedBy };
  }
  const identity = d.identity
    ? `identity ${short(d.identity)} is pinned by no release manifest`
    : 'content identity not detected';
  const label = readableLabel(d.version);
  if (label) return { kind: 'label', service, host: d.host, line: label, why: identity };
  const labelWhy = d.version
    ? `version label ${JSON.stringify(d.version)} is not a release version`
    : 'no version label';
  return { kind: 'unknown', service, host: d.host, why: `${identity} and ${labelWhy}` };
}

/** Evidence in words, as the gate detail shows it per replica. */
export function describeLine(l: ReplicaLine): string {
  const where = `${l.service} on ${l.host}`;
  switch (l.kind) {
    case 'identity':
      return `${where}: ${l.line} by content identity (pinned by ${l.pinnedBy.join(', ')})`;
    case 'label':
      return `${where}: ${l.line} by version label (${l.why})`;
    case 'unknown':
      return `${where}: unknown (${l.why})`;
  }
}

export interface ReplicaJudgement {
  lines: ReplicaLine[];
  unknown: Extract<ReplicaLine, { kind: 'unknown' }>[];
  /** Replicas that would go back to an older release, with the release their content first shipped in. */
  downgrades: { line: Exclude<ReplicaLine, { kind: 'unknown' }>; from: string }[];
}

/** Every present replica of the services being upgraded, judged against the target release. */
export function judgeReplicas(opts: {
  target: string;
  targets: readonly ServiceTarget[];
  detections: Record<string, HostDetection[]>;
  pins: ReleasePins;
}): ReplicaJudgement {
  const lines: ReplicaLine[] = [];
  const downgrades: ReplicaJudgement['downgrades'] = [];
  for (const t of opts.targets) {
    for (const d of opts.detections[t.service] ?? []) {
      if (!d.present || d.error) continue;
      const l = judgeReplicaLine(t.service, d, opts.pins);
      lines.push(l);
      if (l.kind === 'unknown') continue;
      // Already at the target's content: nothing goes anywhere, whatever else pins it.
      if (d.identity && d.identity === targetIdentityFor(t, d)) continue;
      const from = l.kind === 'identity' ? l.first : l.line;
      if (compareVersions(from, opts.target) > 0) downgrades.push({ line: l, from });
    }
  }
  return { lines, unknown: lines.filter((l) => l.kind === 'unknown'), downgrades };
}

export const ALLOW_UNKNOWN_FLAG = '--unsafe-allow-unknown-version';
export const ALLOW_DOWNGRADE_FLAG = '--allow-downgrade';

export function formatDowngrade(d: ReplicaJudgement['downgrades'][number], target: string): string {
  const l = d.line;
  const evidence =
    l.kind === 'identity'
      ? `content first shipped in ${d.from}, pinned by ${l.pinnedBy.join(', ')}`
      : `by version label; ${l.why}`;
  return `${l.service} on ${l.host} runs ${d.from} (${evidence}) and would go back to ${target}`;
}

/**
 * Whether a release manifest pins exactly this identity for this service: its image digest (any registry's), or
 * one of its native tarballs' checksums. Reads the manifest only; the activity that scans the repository uses it.
 */
export function manifestPinsIdentity(manifest: ReleaseManifest, service: string, identity: string): boolean {
  const info = getServiceInfo(manifest, service);
  if (!info) return false;
  if (info.digest === identity) return true;
  if (info.images && Object.values(info.images).some((i) => i?.digest === identity)) return true;
  return info.binaries.some((b) => b.checksum === identity);
}
