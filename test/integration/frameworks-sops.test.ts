// The fixture gitops tree read as the worker reads an operator's checkout: the SOPS/age hosts file and env files
// decrypted by the real `sops` binary with the TEST-ONLY key, the plaintext cluster with no key and no sops at all,
// and refusals that name the file and never carry a decrypted value. Needs the sops binary (SOPS_BINARY, PATH or
// .tools/bin/sops); it fails, not skips, without it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterEnvs, loadManifestWithHosts, loadSharedEnv, readManifestFile } from '../../src/config/frameworks';
import { findSopsBinary, isSopsEncrypted, sopsFormatFromPath } from '../../src/config/sops';
import type { SopsOptions } from '../../src/config/sops';
import { frameworksManifestProblems } from '../../src/contracts/frameworks';
import { databaseTargets, serviceHosts } from '../../src/domain/frameworks/placement';
import { InputError } from '../../src/errors';

const GITOPS = join(__dirname, '..', 'fixtures', 'gitops');
const STAGING = join(GITOPS, 'clusters', 'staging', 'cluster.yaml');
const PLAIN = join(GITOPS, 'clusters', 'plain', 'cluster.yaml');
const KEY = join(GITOPS, 'test-age-key.txt');
const PUBLIC_KEY = /# public key: (age1[0-9a-z]+)/.exec(readFileSync(KEY, 'utf8'))![1]!;
/** Values that exist only inside the encrypted files: none may appear in an error. */
const SECRET_VALUES = ['192.0.2.11', 'fixture-yugabyte-password', 'fixture-s3-secret-key', 'Zml4dHVyZS1wcml2YXRl'];

let sops: string;
let home: string;
/** An environment with no age key anywhere (HOME is empty, no SOPS_AGE_* variables). */
let keyless: NodeJS.ProcessEnv;

async function rejection(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected an InputError');
}

beforeAll(async () => {
  const found = await findSopsBinary();
  if (found === undefined) throw new Error('sops binary not found: set SOPS_BINARY or build it into .tools/bin/sops');
  sops = found;
  home = mkdtempSync(join(tmpdir(), 'fw-sops-home-'));
  keyless = { PATH: process.env.PATH, HOME: home };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const withKey = (): SopsOptions => ({ ageKeyFile: KEY, sopsBinary: sops, env: keyless });

describe('encrypted staging cluster', () => {
  it('merges the decrypted hosts file and validates', async () => {
    const loaded = await loadManifestWithHosts(STAGING, withKey());
    expect(loaded.manifestDir).toBe(join(GITOPS, 'clusters', 'staging'));
    expect(loaded.hostsFile).toBe(join(GITOPS, 'clusters', 'staging', 'hosts.enc.yaml'));
    expect(loaded.manifest.hosts['db-1']).toMatchObject({ external_ip: '192.0.2.12', user: 'deploy', cluster: 'core' });
    expect(loaded.manifest.hosts['media-1']).toMatchObject({ external_ip: '192.0.2.13', user: 'ops' });
    expect(Object.keys(loaded.manifest.hosts)).toEqual(['ctl-1', 'db-1', 'media-1', 'edge-1']);
    // The WireGuard private keys of the hosts file never enter the manifest.
    expect(JSON.stringify(loaded.manifest)).not.toContain('Zml4dHVyZS1wcml2YXRl');
  });

  it('takes the key from SOPS_AGE_KEY_FILE when --age-key is not given', async () => {
    const loaded = await loadManifestWithHosts(STAGING, {
      sopsBinary: sops,
      env: { ...keyless, SOPS_AGE_KEY_FILE: KEY },
    });
    expect(loaded.manifest.hosts['ctl-1']!.external_ip).toBe('192.0.2.11');
  });

  it('merges shared env files in order: the SOPS secret file overrides the plaintext one', async () => {
    const { manifest, manifestDir } = await loadManifestWithHosts(STAGING, withKey());
    const env = await loadSharedEnv(manifest, manifestDir, withKey());
    expect(env).toMatchObject({
      LOG_LEVEL: 'info',
      GREETING: '"kept with its quotes"',
      EMPTY_ON_PURPOSE: '',
      SPACED_KEY: 'spaced value',
      DATABASE_PASSWORD: 'fixture-yugabyte-password',
      REDIS_FOGHORN_PASSWORD: 'fixture-redis-password',
      LIVEPEER_ETH_ACCT_ADDR: '0x00000000000000000000000000000000000000ff',
    });
    expect(Object.keys(env).filter((k) => k.startsWith('sops_'))).toEqual([]);
  });

  it('keeps per-cluster env files per cluster', async () => {
    const { manifest, manifestDir } = await loadManifestWithHosts(STAGING, withKey());
    const envs = await loadClusterEnvs(manifest, manifestDir, withKey());
    expect(Object.keys(envs)).toEqual(['media-eu']);
    expect(envs['media-eu']).toEqual({
      STORAGE_S3_REGION: 'eu-west',
      STORAGE_S3_FORCE_PATH_STYLE: 'true',
      STORAGE_S3_ACCESS_KEY_ID: 'fixture-s3-access-key',
      STORAGE_S3_SECRET_ACCESS_KEY: 'fixture-s3-secret-key',
      DATABASE_PASSWORD: 'fixture-media-eu-db-password',
    });
  });

  it('resolves placement and databases of the fixture as the reference would', async () => {
    const { manifest } = await loadManifestWithHosts(STAGING, withKey());
    expect(serviceHosts(manifest, 'privateer', manifest.services.privateer!)).toEqual(['ctl-1', 'db-1', 'media-1']);
    expect(databaseTargets(manifest)?.databases.map((d) => d.name)).toEqual([
      'quartermaster',
      'commodore',
      'foghorn_eu',
      'purser',
      'navigator',
      'periscope',
    ]);
  });

  it('reads the manifest alone (CLI) without the hosts file; it then fails validation on external_ip', async () => {
    const m = await readManifestFile(STAGING);
    expect(m.hosts_file).toBe('hosts.enc.yaml');
    expect(frameworksManifestProblems(m).map((p) => p.path)).toEqual([
      'hosts.ctl-1.external_ip',
      'hosts.db-1.external_ip',
      'hosts.media-1.external_ip',
      'hosts.edge-1.external_ip',
    ]);
  });
});

describe('refusals', () => {
  it('refuses an encrypted hosts file without a key, naming the file and the fix, no secret', async () => {
    const err = await rejection(loadManifestWithHosts(STAGING, { sopsBinary: sops, env: keyless }));
    expect(err.source).toBe(join(GITOPS, 'clusters', 'staging', 'hosts.enc.yaml'));
    expect(err.message).toMatch(
      /cannot decrypt with sops \(no age key given \(use --age-key <file> or SOPS_AGE_KEY_FILE\)\)/,
    );
    for (const secret of SECRET_VALUES) expect(err.message).not.toContain(secret);
  });

  it('refuses encrypted env files without a key, though the manifest itself loaded', async () => {
    const { manifest, manifestDir } = await loadManifestWithHosts(STAGING, withKey());
    const err = await rejection(loadSharedEnv(manifest, manifestDir, { sopsBinary: sops, env: keyless }));
    expect(err.source).toBe(join(GITOPS, 'secrets', 'staging.env'));
    for (const secret of SECRET_VALUES) expect(err.message).not.toContain(secret);
  });

  it('refuses a missing key file by its absolute path', async () => {
    const err = await rejection(loadManifestWithHosts(STAGING, { ageKeyFile: 'no-such-key.txt', sopsBinary: sops }));
    expect(err.message).toBe(`--age-key: age key file not found: ${join(process.cwd(), 'no-such-key.txt')}`);
    const fromEnv = await rejection(
      loadManifestWithHosts(STAGING, {
        sopsBinary: sops,
        env: { ...keyless, SOPS_AGE_KEY_FILE: '/nonexistent/keys.txt' },
      }),
    );
    expect(fromEnv.message).toBe('SOPS_AGE_KEY_FILE: age key file not found: /nonexistent/keys.txt');
  });

  describe('with a scratch copy of the tree', () => {
    let root: string;
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), 'fw-gitops-'));
      cpSync(GITOPS, root, { recursive: true });
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('refuses a tampered encrypted file, naming it without any decrypted value', async () => {
      const file = join(root, 'secrets', 'staging.env');
      const text = readFileSync(file, 'utf8');
      // Change one byte of one ciphertext: the MAC no longer matches.
      writeFileSync(
        file,
        text.replace(
          /^(DATABASE_PASSWORD=ENC\[AES256_GCM,data:)(.)/m,
          (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'),
        ),
      );
      const m = await readManifestFile(join(root, 'clusters', 'staging', 'cluster.yaml'));
      const err = await rejection(loadSharedEnv(m, join(root, 'clusters', 'staging'), withKey()));
      expect(err.source).toBe(file);
      expect(err.message).toMatch(/cannot decrypt with sops \(with age key /);
      for (const secret of SECRET_VALUES) expect(err.message).not.toContain(secret);
    });

    it('names the key path of a bad value in a decrypted hosts file, not the value', async () => {
      const plain = join(root, 'clusters', 'staging', 'bad.enc.yaml');
      writeFileSync(
        plain,
        'hosts:\n  ctl-1:\n    external_ip: 192.0.2.11\n    wireguard_private_key_managed: fixture-s3-secret-key\n',
      );
      execFileSync(sops, ['encrypt', '--age', PUBLIC_KEY, '--in-place', plain], { env: keyless });
      expect(isSopsEncrypted(readFileSync(plain))).toBe(true);
      const manifest = join(root, 'clusters', 'staging', 'bad.yaml');
      writeFileSync(manifest, 'version: v1\ntype: cluster\nhosts_file: bad.enc.yaml\nhosts:\n  ctl-1: {}\n');
      const err = await rejection(loadManifestWithHosts(manifest, withKey()));
      expect(err.source).toBe(plain);
      expect(err.issues).toEqual([
        {
          path: 'hosts.ctl-1.wireguard_private_key_managed',
          message: 'expected true or false, got a string (value not shown)',
        },
      ]);
      for (const secret of SECRET_VALUES) expect(err.message).not.toContain(secret);
    });

    it('refuses an absolute env file path, naming the entry', async () => {
      const manifest = join(root, 'clusters', 'plain', 'abs.yaml');
      writeFileSync(
        manifest,
        readFileSync(PLAIN, 'utf8').replace('../../config/plain.env', join(root, 'config', 'plain.env')),
      );
      const loaded = await loadManifestWithHosts(manifest);
      const err = await rejection(loadSharedEnv(loaded.manifest, loaded.manifestDir));
      expect(err.issues).toEqual([
        {
          path: 'env_files[0]',
          message: `absolute path "${join(root, 'config', 'plain.env')}" is not allowed; use a path relative to the manifest directory`,
        },
      ]);
    });

    it('refuses a hosts file that lacks a manifest host', async () => {
      const manifest = join(root, 'clusters', 'plain', 'extra.yaml');
      writeFileSync(
        manifest,
        readFileSync(PLAIN, 'utf8').replace('hosts:\n', 'hosts:\n  web-9:\n    roles: [services]\n'),
      );
      const err = await rejection(loadManifestWithHosts(manifest));
      expect(err.source).toBe(join(root, 'clusters', 'plain', 'hosts.yaml'));
      expect(err.issues).toEqual([{ path: 'hosts.web-9', message: "host 'web-9' not found in host inventory" }]);
    });
  });
});

describe('plaintext cluster', () => {
  // No key and no sops binary anywhere: an empty PATH and a binary path that does not exist.
  const nothing: SopsOptions = { sopsBinary: '/nonexistent/sops', env: { PATH: '', HOME: '/nonexistent' } };

  it('loads, merges and validates with no key and no sops', async () => {
    const { manifest, manifestDir } = await loadManifestWithHosts(PLAIN, nothing);
    expect(manifest.hosts['db-1']).toMatchObject({ external_ip: '192.0.2.22', user: 'deploy' });
    expect(await loadSharedEnv(manifest, manifestDir, nothing)).toEqual({
      LOG_LEVEL: 'info',
      DATABASE_PASSWORD: 'plain-fixture-password',
    });
    expect(databaseTargets(manifest)).toEqual({
      engine: 'postgres',
      port: 5432,
      candidateHosts: ['db-1'],
      databases: [
        { name: 'quartermaster', owner: 'quartermaster', logical: 'quartermaster' },
        { name: 'commodore', owner: 'commodore', logical: 'commodore' },
      ],
    });
  });

  it('needs the sops binary only for encrypted files', async () => {
    const err = await rejection(loadManifestWithHosts(STAGING, { ...nothing, ageKeyFile: KEY }));
    expect(err.message).toMatch(
      /hosts\.enc\.yaml: is SOPS-encrypted but the sops binary \/nonexistent\/sops cannot be run/,
    );
  });

  it('decides the sops format by extension, as the reference does', () => {
    expect(['a.yaml', 'b.YML', 'c.json', 'd.env', 'e'].map(sopsFormatFromPath)).toEqual([
      'yaml',
      'yaml',
      'json',
      'dotenv',
      'dotenv',
    ]);
  });
});
