// @bundlegate/model-crypto: the encrypted model file format (DESIGN.md "Encrypted model files").
// model-download decrypts while syncing; `bundlegate encrypt-model` produces the files.
export {
  MODEL_ENC_MAGIC,
  MODEL_ENC_SUFFIX,
  MODEL_ENC_IV_BYTES,
  MODEL_ENC_TAG_BYTES,
  MODEL_KEY_BYTES,
  MODEL_ENC_OVERHEAD,
  parseModelKey,
  readModelKeyFile,
  generateModelKey,
  createEncryptStream,
  createDecryptStream,
  encryptModelFile,
  decryptModelFile,
} from './model-crypto';
