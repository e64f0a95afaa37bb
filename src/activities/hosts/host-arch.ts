// A host's architecture (reference §9 item 11: read once per host per run): `uname -m` mapped to the release
// manifests' arch names, else what orchestrator.yaml declares for the host.
import { exec, type SshConnection } from '../ssh/client';

const ARCH: Record<string, string> = {
  x86_64: 'linux-amd64',
  amd64: 'linux-amd64',
  aarch64: 'linux-arm64',
  arm64: 'linux-arm64',
};

/**
 * The host's architecture: what the run already read for it (`known`), else `uname -m` on the host, else the arch
 * orchestrator.yaml declares for it. Read once per host per run: the run's first detection reads it and passes it on.
 */
export async function hostArch(
  conn: SshConnection,
  declared: string | undefined,
  known: string | undefined,
): Promise<string | null> {
  if (known) return known;
  return archOf(await exec(conn, ['uname', '-m'], { timeoutMs: 15_000 }), declared);
}

/** What `uname -m` answered, as an arch; else the declared one. */
export function archOf(uname: { code: number | null; stdout: string }, declared: string | undefined): string | null {
  const detected = uname.code === 0 ? ARCH[uname.stdout.trim()] : undefined;
  return detected ?? declared ?? null;
}
