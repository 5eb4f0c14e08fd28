import { encodeS3Key, s3Target } from './s3-direct-get';
import { s3SettingsFromEnv } from './storage-s3';

describe('encodeS3Key', () => {
  it('percent-encodes each segment as S3 signs it and keeps the slashes', () => {
    expect(encodeS3Key('m1/1/model.onnx')).toBe('m1/1/model.onnx');
    expect(encodeS3Key("m1/1/a b+c(1)!'*.bin")).toBe('m1/1/a%20b%2Bc%281%29%21%27%2A.bin');
    expect(encodeS3Key('m1/1/modèle~_-.onnx')).toBe('m1/1/mod%C3%A8le~_-.onnx');
  });
});

describe('s3Target', () => {
  it('addresses custom endpoints path-style or virtual-hosted', () => {
    expect(s3Target('models', 'us-east-1', 'http://127.0.0.1:9000', true)).toEqual({ protocol: 'http:', hostname: '127.0.0.1', port: 9000, prefix: '/models' });
    expect(s3Target('models', 'us-east-1', 'https://minio.example:9443/base/', false)).toEqual({
      protocol: 'https:',
      hostname: 'models.minio.example',
      port: 9443,
      prefix: '/base',
    });
  });

  it('addresses AWS virtual-hosted, falling back to path style for dotted buckets', () => {
    expect(s3Target('models', 'eu-west-1', undefined, false)).toEqual({ protocol: 'https:', hostname: 'models.s3.eu-west-1.amazonaws.com', prefix: '' });
    expect(s3Target('my.models', 'eu-west-1', undefined, false)).toEqual({ protocol: 'https:', hostname: 's3.eu-west-1.amazonaws.com', prefix: '/my.models' });
  });
});

describe('s3SettingsFromEnv', () => {
  it('prefers AWS_* and falls back to the RCLONE_S3_* variables deployments set', () => {
    expect(
      s3SettingsFromEnv({
        RCLONE_S3_PROVIDER: 'Minio',
        RCLONE_S3_ACCESS_KEY_ID: 'rk',
        RCLONE_S3_SECRET_ACCESS_KEY: 'rs',
        RCLONE_S3_ENDPOINT: 'minio.local:9000',
        RCLONE_S3_REGION: 'eu-central-1',
      }),
    ).toEqual({ region: 'eu-central-1', endpoint: 'https://minio.local:9000', forcePathStyle: true, credentials: { accessKeyId: 'rk', secretAccessKey: 'rs' } });
    expect(
      s3SettingsFromEnv({ AWS_ACCESS_KEY_ID: 'ak', AWS_SECRET_ACCESS_KEY: 'as', AWS_SESSION_TOKEN: 't', RCLONE_S3_ACCESS_KEY_ID: 'rk', RCLONE_S3_SECRET_ACCESS_KEY: 'rs' }),
    ).toEqual({ region: 'us-east-1', forcePathStyle: false, credentials: { accessKeyId: 'ak', secretAccessKey: 'as', sessionToken: 't' } });
  });

  it('leaves credentials to the SDK chain when none are set, and honours explicit path-style choices', () => {
    expect(s3SettingsFromEnv({ AWS_REGION: 'ap-south-1' })).toEqual({ region: 'ap-south-1', forcePathStyle: false });
    expect(s3SettingsFromEnv({ AWS_ENDPOINT_URL: 'http://s3.local', RCLONE_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(s3SettingsFromEnv({ AWS_ENDPOINT_URL: 'http://s3.local' }, { pathStyle: false }).forcePathStyle).toBe(false);
  });
});
