// A native service installed the way the FrameWorks provisioner's go_service role lays it out
// (reference/frameworks-real-world.md §6.2), for systemd hosts (lab/nspawn.ts): user `frameworks`, the binary at
// /opt/frameworks/<svc>/<svc>, /etc/frameworks/<svc>.env (0600, owner frameworks, keys sorted, values quoted the
// Ansible `quote` way only when needed), the unit /etc/systemd/system/frameworks-<svc>.service, the install marker
// `.installed-<sha256 of "<checksum>:<url>">`, then daemon-reload + enable --now. Written from the reference's
// facts, not copied from the role. The orchestrator finds and adopts exactly this (src/domain/hosts/provisioner.ts).
import { createHash } from 'node:crypto';
import { provisionerPaths } from '../src/domain/hosts/provisioner';

export const PROVISIONER_USER = 'frameworks';

/** The same paths the orchestrator's detection and adoption use. */
export { provisionerPaths };

export interface ProvisionerUnitOptions {
  svc: string;
  /** ExecReload=/bin/kill -HUP $MAINPID, only for SIGHUP-capable services. */
  reloadOnSighup: boolean;
  /** The role's RestartSec is 5; tests may shorten it. */
  restartSec?: number;
}

export function provisionerUnit(o: ProvisionerUnitOptions): string {
  const p = provisionerPaths(o.svc);
  return [
    '[Unit]',
    `Description=FrameWorks ${o.svc}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${PROVISIONER_USER}`,
    `Group=${PROVISIONER_USER}`,
    `WorkingDirectory=${p.dir}`,
    `EnvironmentFile=${p.env}`,
    `ExecStart=${p.binary}`,
    ...(o.reloadOnSighup ? ['ExecReload=/bin/kill -HUP $MAINPID'] : []),
    'Restart=always',
    `RestartSec=${o.restartSec ?? 5}`,
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

// Python's shlex.quote (what Ansible's `quote` filter is): safe characters pass, anything else is single-quoted.
function ansibleQuote(v: string): string {
  if (v === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(v)) return v;
  return `'${v.replace(/'/g, `'"'"'`)}'`;
}

/** `KEY=<value>` per line, keys sorted, CR dropped, LF written as `\n`, values quoted only when unsafe. */
export function provisionerEnvFile(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${ansibleQuote(env[k]!.replace(/\r/g, '').replace(/\n/g, '\\n'))}\n`)
    .join('');
}

export function installMarker(checksum: string, url: string): string {
  return `.installed-${createHash('sha256').update(`${checksum}:${url}`).digest('hex')}`;
}

/**
 * Shell script (run as root on the host) installing `svc` from an uploaded binary `$1`, env text on stdin, unit
 * text in `$2`, marker name `$3`. Idempotent like the role: re-running with the same inputs changes nothing.
 */
export const INSTALL_SCRIPT = [
  'set -eu',
  'svc=$4 src=$1 unit=$2 marker=$3',
  `id -u ${PROVISIONER_USER} >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ${PROVISIONER_USER}`,
  'd=/opt/frameworks/$svc',
  `install -d -m 0755 -o ${PROVISIONER_USER} -g ${PROVISIONER_USER} "$d"`,
  `install -d -m 0755 /etc/frameworks`,
  `install -m 0755 -o ${PROVISIONER_USER} -g ${PROVISIONER_USER} "$src" "$d/$svc"`,
  `cat > "/etc/frameworks/$svc.env.tmp"`,
  `chmod 0600 "/etc/frameworks/$svc.env.tmp"; chown ${PROVISIONER_USER}:${PROVISIONER_USER} "/etc/frameworks/$svc.env.tmp"`,
  'mv -f "/etc/frameworks/$svc.env.tmp" "/etc/frameworks/$svc.env"',
  'printf "%s" "$unit" > "/etc/systemd/system/frameworks-$svc.service"',
  'chmod 0644 "/etc/systemd/system/frameworks-$svc.service"',
  'touch "$d/$marker"',
  'rm -f "$src"',
  'systemctl daemon-reload',
  'systemctl enable --now "frameworks-$svc.service" >/dev/null 2>&1',
].join('\n');

export function installArgv(svc: string, uploadedBinary: string, unit: string, marker: string): string[] {
  return ['sh', '-c', INSTALL_SCRIPT, 'sh', uploadedBinary, unit, marker, svc];
}
