// `frameworks cluster set-channel stable|rc` (SPEC §5; reference §1.7): local, no workflow. Only the value of the
// top-level `channel:` key changes; every other byte of cluster.yaml (comments, order, quoting, line endings)
// stays as the operator wrote it. The patch is a byte splice at the position the YAML parser reports for the
// value, and is accepted only if the patched file parses to the same manifest with just the channel changed.
import { isDeepStrictEqual } from 'node:util';
import { chmodSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isMap, isPair, isScalar, parseDocument } from 'yaml';
import { parseFrameworksManifest } from '../../contracts/frameworks/manifest';
import { CHANNELS, type Channel } from '../../domain/selector';
import { ExitError, InputError } from '../../errors';
import { loadClusterContext } from '../context';
import { createOutput } from '../output';

export function parseChannelArgument(raw: string): Channel {
  if (!(CHANNELS as readonly string[]).includes(raw)) {
    throw new ExitError(`invalid channel "${raw}": must be one of [${CHANNELS.join(' ')}]`, 2);
  }
  return raw as Channel;
}

/**
 * The text with the top-level `channel` set to `channel`. An existing value is replaced in place (keeping its
 * quote style); an absent key is added on the line after `type:` (else at the end). Throws InputError when the
 * file's shape leaves no safe place to patch.
 */
export function patchChannel(text: string, channel: Channel, source = 'cluster.yaml'): string {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new InputError(source, doc.errors[0]!.message);
  const root = doc.contents;
  if (!isMap(root) || root.flow) {
    throw new InputError(source, 'the top level is not a block mapping; set `channel:` by hand');
  }
  const pair = root.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'channel');
  let out: string;
  if (pair) {
    const value = pair.value;
    if (!isScalar(value) || !value.range || value.tag !== undefined || value.anchor !== undefined) {
      throw new InputError(source, 'channel: is not a plain value; set it by hand to stable or rc');
    }
    const [start, end] = value.range;
    if (value.type === 'BLOCK_LITERAL' || value.type === 'BLOCK_FOLDED') {
      // `channel: |` + an indented line: the value's range runs from the indicator through the content's line
      // break. It becomes a plain value on the key's line; a comment on the indicator line and the line break stay.
      const consumed = text.slice(start, end);
      const header = consumed.split(/\r?\n/, 1)[0]!;
      const hash = header.search(/\s#/);
      const comment = hash === -1 ? '' : ` ${header.slice(hash).trimStart()}`;
      const lineBreak = consumed.endsWith('\r\n') ? '\r\n' : consumed.endsWith('\n') ? '\n' : '';
      out = `${text.slice(0, start)}${channel}${comment}${lineBreak}${text.slice(end)}`;
    } else {
      const quote = text[start] === '"' || text[start] === "'" ? text[start] : '';
      out = `${text.slice(0, start)}${quote}${channel}${quote}${text.slice(end)}`;
    }
  } else {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const name = root.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'type');
    const nameEnd = name && isScalar(name.value) && name.value.range ? name.value.range[1] : undefined;
    if (nameEnd !== undefined) {
      // After the whole `name:` line (its value may carry a trailing comment).
      const lineEnd = text.indexOf('\n', nameEnd);
      const at = lineEnd === -1 ? text.length : lineEnd + 1;
      const before = text.slice(0, at);
      out = `${before}${lineEnd === -1 ? eol : ''}channel: ${channel}${eol}${text.slice(at)}`;
    } else {
      out = `${text}${text === '' || text.endsWith('\n') ? '' : eol}channel: ${channel}${eol}`;
    }
  }
  return out;
}

export interface SetChannelResult {
  path: string;
  /** What the manifest said: stable, rc or a pinned tag. */
  previous: string;
  channel: Channel;
  changed: boolean;
}

export async function setChannel(manifestFlag: string | undefined, rawChannel: string): Promise<SetChannelResult> {
  const channel = parseChannelArgument(rawChannel);
  const ctx = await loadClusterContext(manifestFlag); // the file must be valid before we touch it
  const previous = ctx.channel;
  if (previous === channel) return { path: ctx.manifestPath, previous, channel, changed: false };
  const path = realpathSync(ctx.manifestPath); // write through a symlink, never replace it
  const text = readFileSync(path, 'utf8');
  const patched = patchChannel(text, channel, ctx.manifestPath);
  const reparsed = parseFrameworksManifest(patched, ctx.manifestPath);
  if (!isDeepStrictEqual(reparsed, { ...ctx.settings.fw, channel })) {
    throw new InputError(ctx.manifestPath, 'patching channel: would change more than the channel; set it by hand');
  }
  // Same folder, then rename: a crash leaves either the old file or the new one, never half of one.
  const tmp = `${path}.fw-set-channel-${process.pid}`;
  writeFileSync(tmp, patched, { flag: 'wx' });
  chmodSync(tmp, statSync(path).mode & 0o7777);
  renameSync(tmp, path);
  return { path: ctx.manifestPath, previous, channel, changed: true };
}

export async function setChannelCommand(
  rawChannel: string,
  opts: { manifest?: string },
  globals: { color?: boolean },
): Promise<void> {
  const out = createOutput({ color: globals.color !== false });
  const r = await setChannel(opts.manifest, rawChannel);
  if (!r.changed) {
    out.ok(`Already on channel: ${r.channel}`);
    return;
  }
  out.ok(`Channel updated in ${r.path}: ${r.previous} -> ${r.channel}`);
  if (r.channel === 'rc') {
    out.warn('release candidates are pre-production builds: upgrade a production cluster to an rc only to test it');
  }
  out.nextSteps([
    {
      cmd: `frameworks worker --manifest ${r.path}`,
      why: 'restart the worker: it reads the manifest when it starts, and runs without --version follow its channel',
    },
    { cmd: 'frameworks cluster upgrade plan', why: `what moving to the head of ${r.channel} would do` },
    {
      cmd: 'frameworks cluster release --dry-run',
      why: 'the whole recommended flow, gated, without changing anything',
    },
  ]);
}
