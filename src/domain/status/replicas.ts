// `status`'s verdict per service and host (reference §7.2, strengthened): compare what a host runs with what the
// target release pins by CONTENT IDENTITY (image digest / tarball SHA-256), not by version label, so a carried
// service (same bytes, older label) reads "up to date" and a different build under the same label reads
// "upgrade available". A deployed version above the target is "ahead of target", never an upgrade.
//
// Pure and free of Node builtins: the clusterStatus workflow uses it.
import type { ReleaseServiceSlice } from '../../contracts/plan';
import { ATTENTION_STATES, type ReplicaState, type ReplicaStatus } from '../../contracts/status';
import type { HostDetection } from '../../contracts/upgrade';
import { artifactIdentity, artifactPinProblems } from '../artifacts';
import { compareVersions } from '../../contracts/version';

export interface ReplicaFacts {
  service: string;
  host: string;
  mode: 'native' | 'docker';
  detection: HostDetection;
  /** Declared arch of the host (cluster.yaml), used when detection could not tell. */
  declaredArch?: string;
  /** undefined: not probed (not running or unreachable). */
  health?: { healthy: boolean; error?: string };
  /** The service's entry in the target release; null when the release could not be read or does not list it. */
  target: ReleaseServiceSlice | null;
  /** Hash of the config the orchestrator would render for this service now. */
  desiredConfigHash?: string;
}

const norm = (identity: string | null | undefined): string | null =>
  identity ? identity.toLowerCase().replace(/^sha256:/, '') : null;

/** The identity the target pins for this host: docker digest, or the native tarball for the host's arch. */
export function targetIdentity(
  mode: 'native' | 'docker',
  target: ReleaseServiceSlice,
  arch: string | null | undefined,
): string | null {
  if (mode === 'docker') return target.digest ?? null;
  return artifactIdentity(artifactFor(target, arch));
}

function artifactFor(target: ReleaseServiceSlice, arch: string | null | undefined) {
  return arch ? target.artifacts.find((a) => a.arch === arch) : target.artifacts[0];
}

/** Why the target pins nothing for this host, for the "no target" verdict. */
function noIdentityReason(mode: 'native' | 'docker', target: ReleaseServiceSlice, arch: string | null): string {
  if (mode === 'docker') return 'the target release has no image digest for this service';
  const artifact = artifactFor(target, arch);
  if (!artifact) return `the target release has no artifact for ${arch ?? 'this host'}`;
  return `the target release cannot be compared by content: ${artifactPinProblems(artifact).join('; ')}`;
}

function aheadOf(deployed: string | null, available: string): boolean {
  if (!deployed) return false;
  try {
    return compareVersions(deployed, available) > 0;
  } catch {
    return false; // a label we cannot order is not evidence of being ahead
  }
}

export function replicaStatus(f: ReplicaFacts): ReplicaStatus {
  const d = f.detection;
  const arch = d.arch ?? f.declaredArch ?? null;
  const availIdentity = f.target ? targetIdentity(f.mode, f.target, arch) : null;
  const health: ReplicaStatus['health'] =
    f.health === undefined ? 'not checked' : f.health.healthy ? 'healthy' : 'unhealthy';
  const base = {
    service: f.service,
    host: f.host,
    mode: f.mode,
    deployed: { version: d.version, identity: d.identity },
    available: {
      version: f.target?.version ?? null,
      identity: availIdentity,
      ...(f.target?.carriedFrom ? { carriedFrom: f.target.carriedFrom } : {}),
    },
    running: d.running,
    health,
  };
  const verdict = (state: ReplicaState, upgradeAvailable: boolean, detail?: string): ReplicaStatus => ({
    ...base,
    state,
    upgradeAvailable,
    ...(detail ? { detail } : {}),
  });

  // An upgrade is "available" whenever the target differs from what runs, whatever else is wrong.
  const identityDiffers = availIdentity !== null && norm(availIdentity) !== norm(d.identity);
  const upgradeAvailable = identityDiffers && !aheadOf(d.version, f.target?.version ?? '');

  if (d.error) return verdict('unreachable', false, d.error);
  if (!d.present) return verdict('not installed', availIdentity !== null);
  if (!d.running) return verdict('not running', upgradeAvailable);
  if (f.health && !f.health.healthy) return verdict('unhealthy', upgradeAvailable, f.health.error);
  if (!f.target) return verdict('no target', false, 'the target release does not list this service');
  if (availIdentity === null) return verdict('no target', false, noIdentityReason(f.mode, f.target, arch));
  if (identityDiffers) {
    if (!upgradeAvailable) return verdict('ahead of target', false, `runs ${d.version}, target is ${f.target.version}`);
    return verdict('upgrade available', true);
  }
  if (f.desiredConfigHash && d.configHash && f.desiredConfigHash !== d.configHash) {
    return verdict('upgrade available', true, 'same artifact, config changed in cluster.yaml (an upgrade reloads it)');
  }
  return verdict('up to date', false);
}

/** The lines that make `status` exit 3. */
export function attentionLines(replicas: readonly ReplicaStatus[], targetError?: string): string[] {
  const lines = replicas
    .filter((r) => ATTENTION_STATES.includes(r.state))
    .map((r) => `${r.service}@${r.host}: ${r.state}${r.detail ? ` (${r.detail})` : ''}`);
  if (targetError) lines.push(`target release unavailable: ${targetError}`);
  return lines;
}
