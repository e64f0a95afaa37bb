// Detection of native services (SPEC §6) in ONE remote command per host (domain/hosts/detect-script.ts): the
// install-state probe, the status command, with systemd the MainPID and — for a service without installed.json —
// the unit chain, and the host's `uname -m` when the caller has no architecture yet. Each section is judged as the
// command's own exec was, in the same order (the probe's failure first, then a malformed installed.json, then a
// status command that cannot run), so results and error messages are those of the one-command-per-step reads.
// A provisioner install (systemd, no installed.json, the unit runs the provisioner's binary) still needs one more
// command for its binary's facts: that read runs the binary's `version`, only once the unit is known to run it.
import { randomBytes } from 'node:crypto';
import type { ServiceManager } from '../../contracts/cluster';
import type { InstalledEntry, NativeLayout } from '../../domain/hosts/commands';
import { nativeDetectScript, parseNativeDetect, type SectionResult } from '../../domain/hosts/detect-script';
import type { NativeState } from '../../domain/hosts/native-plan';
import {
  binaryFactsCommand,
  parseBinaryFacts,
  parseShowChain,
  pickUnit,
  provisionerPaths,
  systemdShowChainCommand,
  type BinaryFacts,
  type SystemdUnitState,
} from '../../domain/hosts/provisioner';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { exec, type SshConnection } from '../ssh/client';
import { STEP_MS, observed, run } from './native-steps';

export interface NativeDetection {
  /** installed.json exists (and parses). */
  present: boolean;
  /** `sha256:<hex>` of the installed tarball. */
  identity: string | null;
  version: string | null;
  configHash: string | null;
  running: boolean;
  pid?: number;
  previous: InstalledEntry | null;
  /** Release dirs present on the host (hex identities). */
  staged: string[];
  /** An activation or rollback was interrupted between switch and restart. */
  pending: boolean;
  /** installed.json's layout (absent when nothing is installed). */
  layout?: NativeLayout;
}

export function detection(st: NativeState, running: boolean, pid: number | undefined): NativeDetection {
  return {
    present: st.installed !== null,
    identity: st.installed?.identity ?? null,
    version: st.installed?.version ?? null,
    configHash: st.installed?.config_hash ?? null,
    running,
    ...(pid !== undefined ? { pid } : {}),
    previous: st.installed?.previous ?? null,
    staged: st.releases,
    pending: st.pending !== null,
    ...(st.installed ? { layout: st.installed.layout ?? 'own' } : {}),
  };
}

export type NativeLayoutFound = 'own' | 'adopted' | 'provisioner' | null;

export interface NativeDetectionAny extends Omit<NativeDetection, 'layout'> {
  /** own/adopted: installed.json; provisioner: found by its unit only (not adopted yet); null: nothing. */
  layout: NativeLayoutFound;
  /** The systemd unit found (systemd only). */
  unit?: string;
}

const ARCH_MS = 15_000;

/** What one run of the detection script read: per service its detection (or the error its reads gave). */
interface HostRead {
  /** `uname -m` as its own exec would have returned it, when asked for. */
  arch: SectionResult | null;
  services: ({ detection: NativeDetection; showChain: SectionResult | null } | Error)[];
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** The one remote command for `svcs` of this host; throws when it cannot run or did not finish. */
async function readHost(
  conn: SshConnection,
  svcs: readonly string[],
  base: string | undefined,
  manager: ServiceManager,
  readArch: boolean,
): Promise<HostRead> {
  const nonce = randomBytes(8).toString('hex');
  const { argv, script } = nativeDetectScript(svcs, base, manager, readArch, nonce);
  // What the reads were each allowed one by one: the status, MainPID, unit chain and probe per service.
  const timeoutMs = (readArch ? ARCH_MS : 0) + svcs.length * 4 * STEP_MS;
  const r = await exec(conn, argv, { timeoutMs, stdin: script });
  const read = parseNativeDetect(r, svcs.length, readArch, nonce);
  if (!read) {
    const out = (r.stderr.trim() || r.stdout.trim()).slice(-2000) || '(no output)';
    throw failure(
      FailureType.HostCommandFailed,
      `${conn.target}: reading ${svcs.join(', ')} did not finish (exit ${r.code ?? r.signal}): ${out}`,
    );
  }
  const services = read.services.map((s, i) => {
    const svc = svcs[i]!;
    try {
      if (s.probe.code !== 0) {
        const err = (s.probe.stderr.trim() || s.probe.stdout.trim()).slice(0, 2000) || '(no output)';
        throw failure(
          FailureType.HostCommandFailed,
          `${conn.target}: read the install state of ${svc} failed (exit ${s.probe.code}): ${err}`,
        );
      }
      const st = observed(conn.target, svc, base, s.probe.stdout);
      // 126/127: the status command itself is missing, a misconfigured host, not a stopped service.
      if (s.status.code === 126 || s.status.code === 127) {
        throw failure(FailureType.HostCommandFailed, `${conn.target}: status of ${svc}: ${s.status.stderr.trim()}`);
      }
      const running = s.status.code === 0;
      let pid = st.pid ?? undefined;
      if (manager.type === 'systemd' && running && s.mainPid) {
        const n = Number(s.mainPid.stdout.trim());
        if (s.mainPid.code === 0 && Number.isSafeInteger(n) && n > 0) pid = n;
      }
      return { detection: detection(st, running, pid), showChain: s.showChain };
    } catch (err) {
      return asError(err);
    }
  });
  return { arch: read.arch, services };
}

interface ProvisionerInstall {
  unit: SystemdUnitState;
  facts: BinaryFacts;
}

/**
 * The §6.5 systemd chain (`show`: as the detection script read it, else read now) and the binary's facts; null
 * when no unit of the service runs the provisioner's path.
 */
export async function findProvisionerInstall(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  show?: SectionResult | null,
): Promise<ProvisionerInstall | null> {
  const what = `systemctl show ${svc}`;
  let chain: string;
  if (show) {
    if (show.code !== 0) {
      const err = (show.stderr.trim() || show.stdout.trim()).slice(0, 2000) || '(no output)';
      throw failure(FailureType.HostCommandFailed, `${conn.target}: ${what} failed (exit ${show.code}): ${err}`);
    }
    chain = show.stdout;
  } else chain = (await run(conn, systemdShowChainCommand(svc), what)).stdout;
  const unit = pickUnit(parseShowChain(chain));
  const p = provisionerPaths(svc, base);
  if (!unit || unit.execPath !== p.binary) return null;
  const facts = parseBinaryFacts((await run(conn, binaryFactsCommand(p.binary, p.env), `inspect ${p.binary}`)).stdout);
  return { unit, facts };
}

/**
 * The native detection, and with systemd on a host without installed.json, the provisioner's layout: identity =
 * SHA-256 of the installed binary, config hash = SHA-256 of /etc/frameworks/<svc>.env, version from `version
 * --json`, running = active+running. A unit running something else (e.g. our own `current/<svc>` before the first
 * activation) is "not installed", as before.
 */
async function anyLayout(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
  d: NativeDetection,
  show: SectionResult | null,
): Promise<NativeDetectionAny> {
  if (d.present || manager.type !== 'systemd') {
    const layout: NativeLayoutFound = d.present ? (d.layout ?? 'own') : null;
    return { ...d, layout };
  }
  const found = await findProvisionerInstall(conn, svc, base, show);
  if (!found || !found.facts.binarySha256) return { ...d, layout: null };
  return {
    present: true,
    identity: `sha256:${found.facts.binarySha256}`,
    version: found.facts.version,
    configHash: found.facts.envSha256,
    running: found.unit.running,
    ...(found.unit.mainPid !== null && found.unit.running ? { pid: found.unit.mainPid } : {}),
    previous: null,
    staged: d.staged,
    pending: false,
    layout: 'provisioner',
    unit: found.unit.unit,
  };
}

/**
 * Every one of `svcs` on this host (each its detection or the error its reads gave) and, with `readArch`, the
 * host's `uname -m`: one remote command, plus one per provisioner install found.
 */
export async function detectNativeHost(
  conn: SshConnection,
  svcs: readonly string[],
  base: string | undefined,
  manager: ServiceManager,
  readArch = false,
): Promise<{ arch: SectionResult | null; found: (NativeDetectionAny | Error)[] }> {
  const read = await readHost(conn, svcs, base, manager, readArch);
  const found: (NativeDetectionAny | Error)[] = [];
  // One after another: a provisioner install's extra read runs its binary, at most one at a time per host.
  for (const [i, s] of read.services.entries()) {
    if (s instanceof Error) found.push(s);
    else found.push(await anyLayout(conn, svcs[i]!, base, manager, s.detection, s.showChain).catch(asError));
  }
  return { arch: read.arch, found };
}

/** One service (detectNativeHost of one). */
export async function detectNativeAny(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
): Promise<NativeDetectionAny> {
  const d = (await detectNativeHost(conn, [svc], base, manager)).found[0]!;
  if (d instanceof Error) throw d;
  return d;
}

/** The install state and running state of one service as installed.json says (no provisioner layout). */
export async function detectNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
): Promise<NativeDetection> {
  const d = (await readHost(conn, [svc], base, manager, false)).services[0]!;
  if (d instanceof Error) throw d;
  return d.detection;
}
