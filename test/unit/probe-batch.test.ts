// The batch probe's output parser (domain/hosts/probe-batch.ts): it reassembles each service's per-service probe
// text, and gives up (null: the caller probes service by service) whenever it cannot vouch for that text exactly.
import { describe, expect, it } from 'vitest';
import { parseNativeProbe } from '../../src/domain/hosts/commands';
import { parseNativeBatchProbe } from '../../src/domain/hosts/probe-batch';

const base = '/srv/fw';
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const block = (i: number, rest: string, status = 0) =>
  `@@fw-probe ${i}\ndir=1\npid=\npending=\nreleases=${A} \n--- installed.json\n${rest}\n@@fw-detect-end ${i} 0 ${status}\n`;
const output = (o: {
  sumsRc?: number;
  sums?: string;
  linked?: string;
  targets?: string;
  linksRc?: number;
  blocks?: string;
}) =>
  `@@fw-sums\n${o.sums ?? `${B}  ${base}/one/env\n`}\n@@fw-sums ${o.sumsRc ?? 0}\n` +
  `@@fw-links${o.linked ?? ' 0'}\n${o.targets ?? `releases/${A}\0`}\n@@fw-links ${o.linksRc ?? 0}\n` +
  (o.blocks ?? block(0, '{}') + block(1, '', 3));

describe('parseNativeBatchProbe', () => {
  it('reassembles each service’s probe: link target, env hashes by path, the rest as printed', () => {
    const out = parseNativeBatchProbe(output({}), ['one', 'two'], base)!;
    expect(out.map((o) => o.statusRc)).toEqual([0, 3]);
    expect(parseNativeProbe(out[0]!.probe)).toMatchObject({
      dirExists: true,
      currentIdentity: A,
      envSha256: B,
      envPreviousSha256: null,
      releases: [A],
      installedText: '{}',
    });
    expect(parseNativeProbe(out[1]!.probe)).toMatchObject({
      currentIdentity: null,
      envSha256: null,
      installedText: null,
    });
  });

  it('gives up when the hash or link pass did not cover every file, or the output is not whole', () => {
    const svcs = ['one', 'two'];
    expect(parseNativeBatchProbe(output({ sumsRc: 1 }), svcs, base)).toBeNull();
    expect(parseNativeBatchProbe(output({ sums: `\\${B}  ${base}/one/env\n` }), svcs, base)).toBeNull();
    expect(parseNativeBatchProbe(output({ linksRc: 1 }), svcs, base)).toBeNull();
    expect(parseNativeBatchProbe(output({ linked: ' 0 1' }), svcs, base)).toBeNull();
    expect(parseNativeBatchProbe(output({ blocks: block(0, '{}') }), svcs, base)).toBeNull();
    expect(parseNativeBatchProbe(output({ blocks: block(0, '{}') + block(1, '\n@@fw-odd\n') }), svcs, base)).toBeNull();
  });
});
