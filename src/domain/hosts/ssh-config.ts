// How the reference reaches a host (reference/frameworks-real-world.md §6.1): `<user>@<external_ip>` on port 22,
// unless the operator's OpenSSH client config has an alias named after the host (`Host <name>` or
// `Host frameworks-<name>`) whose HostName is that same external_ip — the only way to use another port, user or
// key. An alias pointing elsewhere is ignored, so a stale alias can never send the upgrade to another machine.
// Pure: the caller reads the file.

export interface SshAlias {
  alias: string;
  hostName?: string;
  port?: number;
  user?: string;
  identityFile?: string;
}

/**
 * The settings of exact `Host` names in an ssh_config text (first value wins, as OpenSSH does; patterns with
 * `*`, `?` or `!` are skipped because the reference asks `ssh -G` for a literal name, which a pattern would only
 * match by accident). `Match` blocks end the current Host block and are ignored.
 */
export function parseSshConfig(text: string): Map<string, SshAlias> {
  const out = new Map<string, SshAlias>();
  let current: SshAlias[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?)\s*(?:=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = (m[1] ?? '').toLowerCase();
    const value = (m[2] ?? '').trim().replace(/^"(.*)"$/, '$1');
    if (key === 'host') {
      current = value
        .split(/\s+/)
        .filter((n) => n !== '' && !/[*?!]/.test(n))
        .map((n) => {
          const existing = out.get(n);
          if (existing) return existing;
          const a: SshAlias = { alias: n };
          out.set(n, a);
          return a;
        });
    } else if (key === 'match') {
      current = [];
    } else {
      for (const a of current) {
        if (key === 'hostname' && a.hostName === undefined) a.hostName = value;
        else if (key === 'port' && a.port === undefined && /^\d+$/.test(value)) a.port = Number(value);
        else if (key === 'user' && a.user === undefined) a.user = value;
        else if (key === 'identityfile' && a.identityFile === undefined) a.identityFile = value;
      }
    }
  }
  return out;
}

/** The alias the reference would use for `hostName` at `externalIp`, if any (`<name>` first, then `frameworks-<name>`). */
export function aliasFor(aliases: Map<string, SshAlias>, hostName: string, externalIp: string): SshAlias | undefined {
  for (const name of [hostName, `frameworks-${hostName}`]) {
    const a = aliases.get(name);
    if (a && (a.hostName ?? name) === externalIp) return a;
  }
  return undefined;
}
