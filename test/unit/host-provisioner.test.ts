// The provisioner layout's commands and parsers, by value (domain/hosts/provisioner.ts). The same commands run
// against a real systemd in test/integration/systemd-host.test.ts.
import { describe, expect, it } from 'vitest';
import {
  adoptCopyReleaseCommand,
  adoptionProblem,
  binaryFactsCommand,
  formatDiagnostics,
  parseBinaryFacts,
  parseShowChain,
  parseSystemctlShow,
  parseVersionReport,
  pickUnit,
  provisionerPaths,
  redactSecrets,
  systemdDiagnosticsCommand,
  systemdShowChainCommand,
} from '../../src/domain/hosts/provisioner';
import { installMarker, provisionerEnvFile, provisionerUnit } from '../../lab/provisioner';

const HEX = 'ab'.repeat(32);

// Verbatim shape of `systemctl show` (systemd 252) for a provisioner unit.
const SHOW_PURSER = [
  'MainPID=214',
  'Result=success',
  'NRestarts=2',
  'ExecStart={ path=/opt/frameworks/purser/purser ; argv[]=/opt/frameworks/purser/purser serve ; ignore_errors=no ; start_time=[Wed 2026-12-02 15:34:40 UTC] ; stop_time=[n/a] ; pid=214 ; code=(null) ; status=0/0 }',
  'EnvironmentFiles=/etc/frameworks/purser.env (ignore_errors=no)',
  'LoadState=loaded',
  'ActiveState=active',
  'SubState=running',
  'FragmentPath=/etc/systemd/system/frameworks-purser.service',
  '',
].join('\n');
const SHOW_MISSING = [
  'MainPID=0',
  'Result=success',
  'NRestarts=0',
  'LoadState=not-found',
  'ActiveState=inactive',
  'SubState=dead',
  'FragmentPath=',
  '',
].join('\n');

describe('systemctl show', () => {
  it('parses state, pid, the ExecStart path and argv, env files', () => {
    expect(parseSystemctlShow('frameworks-purser', SHOW_PURSER)).toEqual({
      unit: 'frameworks-purser',
      loaded: true,
      activeState: 'active',
      subState: 'running',
      running: true,
      mainPid: 214,
      execPath: '/opt/frameworks/purser/purser',
      execArgv: ['/opt/frameworks/purser/purser', 'serve'],
      fragmentPath: '/etc/systemd/system/frameworks-purser.service',
      environmentFiles: ['/etc/frameworks/purser.env'],
      nRestarts: 2,
      result: 'success',
    });
    expect(parseSystemctlShow('purser', SHOW_MISSING)).toMatchObject({
      loaded: false,
      running: false,
      mainPid: null,
      execPath: null,
      execArgv: [],
      fragmentPath: null,
      environmentFiles: [],
    });
    // Restart=always between two starts: active is not enough, running needs SubState=running.
    const restarting = SHOW_PURSER.replace('ActiveState=active', 'ActiveState=activating').replace(
      'SubState=running',
      'SubState=auto-restart',
    );
    expect(parseSystemctlShow('frameworks-purser', restarting).running).toBe(false);
    // An optional env file ("-/path") still names the path.
    const optional = SHOW_PURSER.replace('EnvironmentFiles=/etc', 'EnvironmentFiles=-/etc');
    expect(parseSystemctlShow('x', optional).environmentFiles).toEqual(['/etc/frameworks/purser.env']);
  });

  it('walks the chain frameworks-<svc> then <svc> in one command and takes the first loaded unit', () => {
    const argv = systemdShowChainCommand('purser');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['sh', 'frameworks-purser', 'purser']);
    expect(argv[2]).toContain(
      'systemctl show --property=LoadState,ActiveState,SubState,MainPID,ExecStart,FragmentPath,EnvironmentFiles,NRestarts,Result -- "$u"',
    );
    const out = `@@fw-unit frameworks-purser\n${SHOW_MISSING}@@fw-unit purser\n${SHOW_PURSER}`;
    const chain = parseShowChain(out);
    expect(chain.map((u) => [u.unit, u.loaded])).toEqual([
      ['frameworks-purser', false],
      ['purser', true],
    ]);
    expect(pickUnit(chain)?.unit).toBe('purser');
    expect(pickUnit(parseShowChain(`@@fw-unit frameworks-purser\n${SHOW_MISSING}`))).toBeNull();
    expect(() => systemdShowChainCommand('a;id')).toThrow(/invalid service name/);
  });
});

describe('binary facts and version report', () => {
  it('passes paths as positional parameters and parses hashes, link and version', () => {
    const argv = binaryFactsCommand('/opt/frameworks/purser/purser', '/etc/frameworks/purser.env');
    expect(argv.slice(3)).toEqual(['sh', '/opt/frameworks/purser/purser', '/etc/frameworks/purser.env']);
    expect(argv[2]).toContain('timeout 10 "$b" version --json');
    const facts = parseBinaryFacts(
      `bin=${HEX}\nlink=current/purser\nenv=${HEX}\nversion={"version":"v0.1.0","git_commit":"abc","component_name":"purser"} \n`,
    );
    expect(facts).toEqual({ binarySha256: HEX, link: 'current/purser', envSha256: HEX, version: 'v0.1.0' });
    expect(parseBinaryFacts('bin=\nlink=\nenv=\nversion=\n')).toEqual({
      binarySha256: null,
      link: null,
      envSha256: null,
      version: null,
    });
  });

  it('reads .version of version --json, else the platform version line, else nothing', () => {
    expect(parseVersionReport('{"version":"v0.2.96","git_commit":"x"}')).toBe('v0.2.96');
    expect(parseVersionReport('purser\n - platform version: v0.2.96\n')).toBe('v0.2.96');
    expect(parseVersionReport('{"component_name":"purser"}')).toBeNull();
    expect(parseVersionReport('{not json')).toBeNull();
    expect(parseVersionReport('')).toBeNull();
  });
});

describe('adoption', () => {
  const unit = parseSystemctlShow('frameworks-purser', SHOW_PURSER);

  it('accepts exactly the provisioner layout and names what differs', () => {
    expect(adoptionProblem('purser', unit)).toBeNull();
    expect(adoptionProblem('purser', { ...unit, unit: 'purser' })).toBe('its unit is purser, not frameworks-purser');
    expect(adoptionProblem('purser', { ...unit, execPath: '/usr/local/bin/purser' })).toBe(
      'frameworks-purser runs /usr/local/bin/purser, not /opt/frameworks/purser/purser',
    );
    expect(adoptionProblem('purser', { ...unit, environmentFiles: [] })).toBe(
      'frameworks-purser reads no EnvironmentFile, not /etc/frameworks/purser.env',
    );
  });

  it('copies the binary into releases/<its hash> through a temp dir, checking the hash', () => {
    const argv = adoptCopyReleaseCommand('purser', HEX);
    expect(argv.slice(3)).toEqual([
      'sh',
      '/opt/frameworks/purser/purser',
      `/opt/frameworks/purser/releases/${HEX}`,
      `/opt/frameworks/purser/releases/.${HEX}.adopt`,
      'purser',
      HEX,
    ]);
    expect(argv[2]).toContain('[ -d "$rel" ] && exit 0');
    expect(argv[2]).toContain('[ "$got" = "$want" ]');
    expect(() => adoptCopyReleaseCommand('purser', 'nothex')).toThrow(/invalid artifact identity/);
    expect(provisionerPaths('purser')).toEqual({
      dir: '/opt/frameworks/purser',
      binary: '/opt/frameworks/purser/purser',
      binaryLink: 'current/purser',
      env: '/etc/frameworks/purser.env',
      unit: 'frameworks-purser',
      unitFile: '/etc/systemd/system/frameworks-purser.service',
    });
  });
});

describe('diagnostics', () => {
  it('asks for the unit state and the last journal lines', () => {
    const argv = systemdDiagnosticsCommand('purser', 20);
    expect(argv.slice(3)).toEqual(['sh', 'frameworks-purser', '20']);
    expect(argv[2]).toContain('journalctl -u "$1" -n "$2" --no-pager');
    expect(() => systemdDiagnosticsCommand('purser', 0)).toThrow(/outside/);
  });

  it('orders the state, keeps the journal, masks credentials and bounds the length', () => {
    const out =
      'NRestarts=3 Result=exit-code SubState=auto-restart ActiveState=activating ExecMainStatus=2 \n' +
      'Dec 02 purser[9]: connect postgres://purser:s3cret@db:5432/purser failed\n' +
      'Dec 02 purser[9]: DB_PASSWORD=hunter2 api_token: abc\n';
    const text = formatDiagnostics('purser', out);
    expect(text).toBe(
      'frameworks-purser: ActiveState=activating SubState=auto-restart Result=exit-code ExecMainStatus=2 NRestarts=3; ' +
        'last journal lines:\n' +
        'Dec 02 purser[9]: connect postgres://purser:***@db:5432/purser failed\n' +
        'Dec 02 purser[9]: DB_PASSWORD=*** api_token: ***',
    );
    expect(formatDiagnostics('purser', '')).toBe('frameworks-purser: (no state); last journal lines:\n(none)');
    const long = formatDiagnostics('purser', `ActiveState=failed\n${'noise\n'.repeat(800)}the cause`, 200);
    expect(long).toHaveLength(201);
    // A long journal never pushes the unit's state out: it keeps the header and the newest lines.
    expect(long.startsWith('frameworks-purser: ActiveState=failed; last journal lines:\n…')).toBe(true);
    expect(long.endsWith('the cause')).toBe(true);
    expect(redactSecrets('GREETING=hello')).toBe('GREETING=hello');
  });
});

describe('lab provisioner install (reference §6.2)', () => {
  it('renders the unit with Restart=always and ExecReload only for SIGHUP-capable services', () => {
    const unit = provisionerUnit({ svc: 'purser', reloadOnSighup: true });
    expect(unit).toContain('ExecStart=/opt/frameworks/purser/purser\n');
    expect(unit).toContain('EnvironmentFile=/etc/frameworks/purser.env\n');
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID\n');
    expect(unit).toContain('Restart=always\nRestartSec=5\nLimitNOFILE=1048576\n');
    expect(provisionerUnit({ svc: 'foghorn', reloadOnSighup: false })).not.toContain('ExecReload');
  });

  it('writes env files sorted, quoting only unsafe values the Ansible way', () => {
    expect(provisionerEnvFile({ B: 'hello world', A: 'plain/x:1', C: "it's", D: 'a\r\nb', E: '' })).toBe(
      `A=plain/x:1\nB='hello world'\nC='it'"'"'s'\nD='a\\nb'\nE=''\n`,
    );
    expect(installMarker('sha256:x', 'https://u')).toMatch(/^\.installed-[0-9a-f]{64}$/);
  });
});
