// Native services the FrameWorks provisioner installed (reference §6.2, §6.5): detection by their systemd unit and
// binary (native-detect.ts, re-exported here), adoption into the content-pinned layout on first upgrade, and
// systemd diagnostics for failure messages.
// The layout, the adoption steps and why they are safe are described in src/domain/hosts/provisioner.ts; this
// module only runs those commands and decides between them. Only `service_manager: systemd` has provisioner
// installs (the lab's `command` supervisor never does), so every entry point here is a no-op for other managers.
import { FailureType } from '../../errors';
import { failure } from '../failures';
import type { ServiceManager } from '../../contracts/cluster';
import {
  configHash,
  identityHex,
  nativePaths,
  parseInstalledJson,
  parseNativeProbe,
  probeNativeCommand,
  renderInstalledJson,
  sha256FileCommand,
  statusCommand,
  restartCommand,
  switchSymlinkCommand,
  writeFileAtomicCommand,
  type InstalledRecord,
} from '../../domain/hosts/commands';
import { switchCurrentRelative } from '../../domain/hosts/native-plan';
import { adoptCopyReleaseCommand, adoptionProblem, provisionerPaths } from '../../domain/hosts/provisioner';
import { exec, type SshConnection } from '../ssh/client';
import {
  activateNative,
  rollbackNative,
  type ActivateNativeInput,
  type ActivateNativeResult,
  type RollbackNativeResult,
  type RollbackTarget,
} from './native';
import { detectNativeAny, findProvisionerInstall } from './native-detect';

export { detectNativeAny, type NativeDetectionAny, type NativeLayoutFound } from './native-detect';

const STEP_MS = 30_000;

async function run(conn: SshConnection, argv: string[], what: string, stdin?: string): Promise<string> {
  const r = await exec(conn, argv, { timeoutMs: STEP_MS, ...(stdin !== undefined ? { stdin } : {}) });
  if (r.code !== 0) {
    const err = (r.stderr.trim() || r.stdout.trim()).slice(0, 2000) || '(no output)';
    throw failure(FailureType.HostCommandFailed, `${conn.target}: ${what} failed (exit ${r.code ?? r.signal}): ${err}`);
  }
  return r.stdout;
}

export interface AdoptResult {
  action: 'adopted' | 'none';
  /** `sha256:<binary hex>` when adopted (the rollback target of the first upgrade). */
  identity?: string;
}

/**
 * Adopts a provisioner install (steps in domain/hosts/provisioner.ts); `none` when installed.json exists or the
 * host has no provisioner install of the service. Converges: a re-run after a crash at any step finishes it.
 */
export async function adoptNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  /** `sha256:<tarball hex>` already staged in releases/ whose `<svc>` is this very binary (binary-identity.ts). */
  adoptAs?: string,
): Promise<AdoptResult> {
  const n = nativePaths(svc, base);
  const probe = parseNativeProbe(await run(conn, probeNativeCommand(svc, base), `read the install state of ${svc}`));
  if (probe.installedText !== null) return { action: 'none' };
  const found = await findProvisionerInstall(conn, svc, base);
  if (!found) return { action: 'none' };
  const p = provisionerPaths(svc, base);
  const refuse = (why: string) =>
    failure(
      FailureType.NotAdoptable,
      `${conn.target}: ${svc} was installed by the FrameWorks provisioner but cannot be adopted: ${why}; nothing ` +
        'was changed. Repair the install with the provisioner, then upgrade again.',
    );
  const problem = adoptionProblem(svc, found.unit, base);
  if (problem) throw refuse(problem);
  const { facts } = found;
  if (!facts.binarySha256) throw refuse(`${p.binary} is missing`);
  if (facts.link !== null && facts.link !== p.binaryLink) throw refuse(`${p.binary} is a link to ${facts.link}`);
  if (!facts.envSha256) throw refuse(`${p.env} is missing`);
  let hex = facts.binarySha256;
  // The binary proven to be a release tarball's executable is adopted AS that release (staged in full), so its
  // identity stays the tarball's everywhere; the bytes are checked once more on the host before relying on it.
  const staged = adoptAs ? identityHex(adoptAs) : null;
  const stagedSum = staged
    ? await exec(conn, sha256FileCommand(`${n.release(staged)}/${svc}`), { timeoutMs: STEP_MS })
    : null;
  if (staged && stagedSum?.code === 0 && stagedSum.stdout.startsWith(`${hex} `)) hex = staged;
  else await run(conn, adoptCopyReleaseCommand(svc, hex, base), `keep ${p.binary} as release ${hex}`);
  await run(conn, switchCurrentRelative(n, hex), 'point current at the adopted binary');
  if (facts.link === null) await run(conn, switchSymlinkCommand(p.binaryLink, p.binary), `link ${p.binary}`);
  const record: InstalledRecord = {
    identity: `sha256:${hex}`,
    // A binary that cannot say its version still has an identity; the label is only for people.
    version: facts.version ?? 'unknown',
    config_hash: facts.envSha256,
    previous: null,
    layout: 'adopted',
  };
  await run(conn, writeFileAtomicCommand(n.installed, '0644'), 'record the adoption', renderInstalledJson(record));
  return { action: 'adopted', identity: record.identity };
}

/**
 * The adopted binary IS the target's executable (same bytes), the config is unchanged and the service runs:
 * `current` moves to the target release and the record takes its tarball identity, with NO restart (SPEC §6:
 * restart only when artifact or config changed — e.g. a carried service on a host the provisioner installed).
 * An adopted record's identity is its binary's SHA-256 or the tarball it was proven to come from; "same bytes" is
 * the comparison of the two executables' hashes. Only adopted records take this path. Null ⇒ activate the usual way.
 */
async function keepSameBinary(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  input: ActivateNativeInput,
): Promise<ActivateNativeResult | null> {
  const n = nativePaths(svc, base, 'adopted');
  const probe = parseNativeProbe(await run(conn, probeNativeCommand(svc, base), `read the install state of ${svc}`));
  if (probe.installedText === null) return null;
  const inst = parseInstalledJson(probe.installedText);
  const targetHex = identityHex(input.identity);
  const instHex = identityHex(inst.identity);
  const config = configHash(input.envText);
  if (inst.layout !== 'adopted' || instHex === targetHex || probe.pending !== null) return null;
  if (probe.currentIdentity !== instHex || inst.config_hash !== config || probe.etcEnvSha256 !== config) return null;
  if (!probe.releases.includes(targetHex)) return null;
  const sum = await run(conn, sha256FileCommand(`${n.release(targetHex)}/${svc}`), 'hash the target executable');
  // The adopted release is named by the binary's SHA-256, or by the tarball it was proven to come from.
  const mine = await run(conn, sha256FileCommand(`${n.release(instHex)}/${svc}`), 'hash the adopted executable');
  if (sum.slice(0, 64) !== mine.slice(0, 64)) return null;
  const active = await exec(conn, statusCommand(input.manager, svc), { timeoutMs: STEP_MS });
  if (active.code !== 0) return null;
  const previous = { identity: inst.identity, version: inst.version, config_hash: inst.config_hash };
  const record: InstalledRecord = {
    identity: `sha256:${targetHex}`,
    version: input.version,
    config_hash: config,
    previous,
    layout: 'adopted',
  };
  await run(conn, switchCurrentRelative(n, targetHex), 'switch current (same executable)');
  await run(conn, writeFileAtomicCommand(n.installed, '0644'), 'record', renderInstalledJson(record));
  return { action: 'none', identity: record.identity, configHash: config, previous };
}

/** activateNative after adopting a provisioner install (systemd); the first upgrade of such a host. */
export async function activateNativeAdopting(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  input: ActivateNativeInput,
  adoptAs?: string,
): Promise<ActivateNativeResult & { adopted: boolean }> {
  if (input.manager.type !== 'systemd') return { ...(await activateNative(conn, svc, base, input)), adopted: false };
  const adopted = (await adoptNative(conn, svc, base, adoptAs)).action === 'adopted';
  const same = await keepSameBinary(conn, svc, base, input);
  return { ...(same ?? (await activateNative(conn, svc, base, input))), adopted };
}

/**
 * rollbackNative; on a systemd host where adoption never completed (no installed.json) the provisioner's install
 * is still what ran before: nothing to switch, it is (re)started if down and its identity and config must match.
 */
export async function rollbackNativeAny(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
  to: RollbackTarget,
): Promise<RollbackNativeResult> {
  if (manager.type === 'systemd') {
    const d = await detectNativeAny(conn, svc, base, manager);
    if (d.layout === 'provisioner') {
      if (d.identity !== to.identity || d.configHash !== to.configHash) {
        throw failure(
          FailureType.RollbackUnavailable,
          `${conn.target}: cannot roll back ${svc}: the provisioner's install is ${d.identity} with config ` +
            `${d.configHash}, not ${to.identity} with ${to.configHash}`,
        );
      }
      const result = { identity: d.identity, version: d.version ?? 'unknown', configHash: d.configHash };
      if (d.running) return { action: 'none', ...result };
      await run(conn, restartCommand(manager, svc), `restart ${svc}`);
      return { action: 'rolled-back', ...result };
    }
  }
  return rollbackNative(conn, svc, base, manager, to);
}
