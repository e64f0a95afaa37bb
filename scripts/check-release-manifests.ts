// `tsx scripts/check-release-manifests.ts <gitops-dir>`: runs every `releases/<tag>.yaml` of a FrameWorks
// gitops checkout through exactly the checks a fetch applies (decode + compatibility metadata, identity against
// the tag its file name requests, artifact URLs) and prints one verdict per tag, oldest first; then each channel
// pointer and the verdict of the release it names. Read-only; exit 0 whatever the verdicts (it is a report),
// 2 on a usage error. docs/real-release-manifests.md records its output for the public repository.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChannelPointer } from '../src/contracts/release';
import { validateReleaseManifest } from '../src/domain/release';
import { compareVersions, isCanonicalVersion } from '../src/contracts/version';
import { InputError } from '../src/errors';

export interface Verdict {
  tag: string;
  accepted: boolean;
  /** The first problem, `<key path>: <message>` (empty when accepted). */
  reason: string;
  /** How many distinct problems were reported. */
  problems: number;
}

function firstReason(err: unknown): { reason: string; problems: number } {
  if (err instanceof InputError) {
    const first = err.issues[0]!;
    return { reason: `${first.path ? `${first.path}: ` : ''}${first.message}`, problems: err.issues.length };
  }
  return { reason: err instanceof Error ? err.message : String(err), problems: 1 };
}

/** Verdicts for every `releases/*.yaml` under `dir`, in version order (non-version file names last). */
export function checkReleaseManifests(dir: string): Verdict[] {
  const files = readdirSync(join(dir, 'releases')).filter((f) => f.endsWith('.yaml'));
  const tags = files.map((f) => f.slice(0, -'.yaml'.length));
  tags.sort((a, b) => {
    const ca = isCanonicalVersion(a);
    const cb = isCanonicalVersion(b);
    if (ca && cb) return compareVersions(a, b) || a.localeCompare(b);
    return ca ? -1 : cb ? 1 : a.localeCompare(b);
  });
  return tags.map((tag) => {
    const file = `releases/${tag}.yaml`;
    try {
      validateReleaseManifest(readFileSync(join(dir, file), 'utf8'), file, tag);
      return { tag, accepted: true, reason: '', problems: 0 };
    } catch (err) {
      return { tag, accepted: false, ...firstReason(err) };
    }
  });
}

/** Each `channels/*.yaml` pointer: does it parse, and is the release it names accepted as that version? */
export function checkChannels(dir: string): { channel: string; accepted: boolean; reason: string }[] {
  let files: string[];
  try {
    files = readdirSync(join(dir, 'channels')).filter((f) => f.endsWith('.yaml'));
  } catch {
    return [];
  }
  return files.sort().map((f) => {
    const channel = f.slice(0, -'.yaml'.length);
    try {
      const pointer = parseChannelPointer(readFileSync(join(dir, 'channels', f), 'utf8'), `channels/${f}`);
      const text = readFileSync(join(dir, pointer.manifest), 'utf8');
      validateReleaseManifest(text, pointer.manifest, pointer.platform_version);
      return { channel, accepted: true, reason: `→ ${pointer.platform_version}` };
    } catch (err) {
      return { channel, accepted: false, reason: firstReason(err).reason };
    }
  });
}

function main(): void {
  const dir = process.argv[2];
  if (!dir || process.argv.length > 3) {
    process.stderr.write('usage: tsx scripts/check-release-manifests.ts <gitops-dir (holding releases/)>\n');
    process.exit(2);
  }
  const verdicts = checkReleaseManifests(dir);
  const width = Math.max(3, ...verdicts.map((v) => v.tag.length));
  process.stdout.write(`${'tag'.padEnd(width)}  verdict   first reason (problems)\n`);
  for (const v of verdicts) {
    const verdict = v.accepted ? 'accepted' : 'rejected';
    const why = v.accepted ? '' : `${v.reason} (${v.problems})`;
    process.stdout.write(`${v.tag.padEnd(width)}  ${verdict}  ${why}\n`.replace(/ +\n$/, '\n'));
  }
  const accepted = verdicts.filter((v) => v.accepted).length;
  process.stdout.write(
    `\n${verdicts.length} manifests: ${accepted} accepted, ${verdicts.length - accepted} rejected\n`,
  );
  for (const c of checkChannels(dir)) {
    process.stdout.write(`channel ${c.channel}: ${c.accepted ? 'accepted' : 'rejected'} ${c.reason}\n`);
  }
}

if (require.main === module) main();
