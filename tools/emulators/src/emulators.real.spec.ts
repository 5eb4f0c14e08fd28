import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { startGcsEmulator, startS3rver, type GcsEmulatorHandle, type S3rverHandle } from './index';

describe('s3rver harness', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['fixtures'] });
  });
  afterAll(() => s3.stop());

  it('listens on 127.0.0.1, stores objects with MD5 ETags and pages ListObjectsV2', async () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const c = s3.client();
    for (const k of ['m/1/a', 'm/1/b', 'm/1/c']) {
      await c.send(new PutObjectCommand({ Bucket: 'fixtures', Key: k, Body: `body of ${k}` }));
    }
    const first = await c.send(new ListObjectsV2Command({ Bucket: 'fixtures', Prefix: 'm/', MaxKeys: 2 }));
    expect(first.Contents?.map((o) => o.Key)).toEqual(['m/1/a', 'm/1/b']);
    const second = await c.send(
      new ListObjectsV2Command({ Bucket: 'fixtures', Prefix: 'm/', ContinuationToken: first.NextContinuationToken }),
    );
    expect(second.Contents?.map((o) => o.Key)).toEqual(['m/1/c']);
    expect(second.Contents?.[0]?.ETag).toBe(`"${createHash('md5').update('body of m/1/c').digest('hex')}"`);
    const ranged = await c.send(new GetObjectCommand({ Bucket: 'fixtures', Key: 'm/1/a', Range: 'bytes=5-6' }));
    expect(await ranged.Body?.transformToString()).toBe('of');
  });

  it('rejects access keys other than S3RVER', async () => {
    const bad = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'WRONG', secretAccessKey: 'x' },
    });
    await expect(bad.send(new CreateBucketCommand({ Bucket: 'other' }))).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
    });
    bad.destroy();
  });
});

describe('GCS emulator harness', () => {
  let gcs: GcsEmulatorHandle;
  beforeAll(async () => {
    gcs = await startGcsEmulator();
  }, 300000);
  afterAll(() => gcs?.stop());

  it('serves the JSON API with md5Hash and crc32c and honours ranges', async () => {
    expect(gcs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const body = Buffer.from('0123456789abcdef');
    const up = await fetch(`${gcs.endpoint}/upload/storage/v1/b/models/o?uploadType=media&name=${encodeURIComponent('m/1/x.bin')}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(up.status).toBe(200);
    const list = (await (await fetch(`${gcs.endpoint}/storage/v1/b/models/o?prefix=m%2F`)).json()) as {
      items: { name: string; size: string; md5Hash: string; crc32c: string }[];
    };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      name: 'm/1/x.bin',
      size: '16',
      md5Hash: createHash('md5').update(body).digest('base64'),
    });
    const ranged = await fetch(`${gcs.endpoint}/storage/v1/b/models/o/${encodeURIComponent('m/1/x.bin')}?alt=media`, {
      headers: { range: 'bytes=10-12' },
    });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('abc');
  });
});
