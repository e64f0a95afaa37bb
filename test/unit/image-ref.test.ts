// The one image-reference parser (src/domain/image-ref.ts), by value: digest and tag references, registries with a
// port, names without a tag, both a tag and a digest, Docker Hub names, and what is refused.
import { describe, expect, it } from 'vitest';
import {
  imageDigest,
  imageRepository,
  imageTagVersion,
  parseImageRef,
  pinnedImageRef,
  pinnedName,
  withoutDigest,
} from '../../src/domain/image-ref';

const HEX = 'ab'.repeat(32);
const DIGEST = `sha256:${HEX}`;

describe('parseImageRef', () => {
  it.each([
    [
      `10.77.1.1:5000/frameworks/purser@${DIGEST}`,
      { repository: '10.77.1.1:5000/frameworks/purser', registry: '10.77.1.1:5000', path: 'frameworks/purser' },
      null,
      DIGEST,
    ],
    [
      'ghcr.io/livepeer-frameworks/purser:v0.2.96',
      { repository: 'ghcr.io/livepeer-frameworks/purser', registry: 'ghcr.io', path: 'livepeer-frameworks/purser' },
      'v0.2.96',
      null,
    ],
    [
      `localhost:5000/a/b:v1.0.0-rc.1@${DIGEST}`,
      { repository: 'localhost:5000/a/b', registry: 'localhost:5000', path: 'a/b' },
      'v1.0.0-rc.1',
      DIGEST,
    ],
    ['localhost/purser', { repository: 'localhost/purser', registry: 'localhost', path: 'purser' }, null, null],
    ['nginx', { repository: 'nginx', registry: null, path: 'library/nginx' }, null, null],
    [`nginx:1.27@${DIGEST}`, { repository: 'nginx', registry: null, path: 'library/nginx' }, '1.27', DIGEST],
    ['bitnami/redis:7', { repository: 'bitnami/redis', registry: null, path: 'bitnami/redis' }, '7', null],
    [
      'registry.example.com:443/team/app_x__y.z-w:latest',
      {
        repository: 'registry.example.com:443/team/app_x__y.z-w',
        registry: 'registry.example.com:443',
        path: 'team/app_x__y.z-w',
      },
      'latest',
      null,
    ],
  ])('%s', (ref, name, tag, digest) => {
    expect(parseImageRef(ref)).toEqual({ ...name, tag, digest });
  });

  it.each([
    ['', /name component ""/],
    ['Nginx:1', /name component "Nginx"/],
    ['-x', /name component "-x"/],
    ['a b', /name component "a b"/],
    ['a//b', /name component ""/],
    ['repo/', /name component ""/],
    ['nginx:', /tag ""/],
    ['nginx:-1', /tag "-1"/],
    [`nginx@sha256:${HEX.slice(1)}`, /digest "sha256:/],
    [`nginx@sha512:${HEX}${HEX}`, /digest "sha512:/],
    [`nginx@${DIGEST.toUpperCase()}`, /digest/],
    ['my_host:5000/app', /registry "my_host:5000"/],
    ['host:port/app', /registry "host:port"/],
  ])('refuses %j', (ref, why) => {
    expect(() => parseImageRef(ref)).toThrow(why);
  });
});

describe('pinned references', () => {
  it('keeps a digest reference and names it repository@digest without the tag', () => {
    const ref = pinnedImageRef(`localhost:5000/a/b:v1@${DIGEST}`);
    expect(ref.digest).toBe(DIGEST);
    expect(pinnedName(ref)).toBe(`localhost:5000/a/b@${DIGEST}`);
  });

  it('refuses a tag alone and anything unreadable, in the form the docker driver reports', () => {
    for (const bad of ['nginx:1.27', 'nginx', `nginx@sha256:${HEX.slice(1)}`, `-x@${DIGEST}`, `/@${DIGEST}`]) {
      expect(() => pinnedImageRef(bad)).toThrow(`image reference "${bad}" is not <repository>[:tag]@sha256:<64 hex>`);
    }
  });
});

describe('digest and name helpers', () => {
  it('reads the pinned digest from the suffix only', () => {
    expect(imageDigest(`10.77.1.1:5000/frameworks/purser:v1@${DIGEST}`)).toBe(DIGEST);
    expect(imageDigest(`Not A Name@${DIGEST}`)).toBe(DIGEST);
    expect(imageDigest('nginx:1.27')).toBeNull();
    expect(imageDigest('nginx@sha256:abc')).toBeNull();
    expect(imageDigest('')).toBeNull();
  });

  it('drops only the digest', () => {
    expect(withoutDigest(`nginx:1.27@${DIGEST}`)).toBe('nginx:1.27');
    expect(withoutDigest('localhost:5000/a')).toBe('localhost:5000/a');
  });

  it.each([
    ['ghcr.io/livepeer-frameworks/purser:v0.2.96', 'v0.2.96', 'ghcr.io/livepeer-frameworks/purser'],
    [`ghcr.io/livepeer-frameworks/purser:v0.2.96@${DIGEST}`, 'v0.2.96', 'ghcr.io/livepeer-frameworks/purser'],
    [`10.77.1.1:5000/frameworks/purser@${DIGEST}`, null, '10.77.1.1:5000/frameworks/purser'],
    ['localhost:5000/purser', null, 'localhost:5000/purser'],
    [DIGEST, null, DIGEST],
    ['3f57d9401f8d', null, '3f57d9401f8d'],
    ['purser', null, 'purser'],
    ['Not A Name', null, 'Not A Name'],
  ])('a container image %s ⇒ version %s, repository %s', (image, version, repo) => {
    expect(imageTagVersion(image)).toBe(version);
    expect(imageRepository(image)).toBe(repo);
  });
});
