// Demo bundle: model descriptions and the files they generate
export { DEMO_MODELS, PHOTO_FRAUD_CLASSIFIER, VISUAL_ANOMALY } from './demo-models';
export type { DemoModel, SignatureEngine, SignatureEntry, TensorInfo } from './demo-models';
export { checkDemoBundle, README_FILE, renderDemoBundle, writeDemoBundle } from './demo-bundle';
export type { BundleDifference, DemoBundleFile } from './demo-bundle';
export {
  BUNDLE_FILE,
  BUNDLE_NAME,
  bundleManifest,
  bundleSignature,
  MODEL_FILE,
  MODEL_VERSION,
  modelFilePath,
  MODELS_DIR,
  renderManifestYaml,
  renderReadme,
  renderSignatureYaml,
  SAMPLES_DIR,
  SERVING_ENGINE,
  SIGNATURE_FILE,
} from './bundle-documents';

// The two models
export {
  buildVisualAnomalyModel,
  VISUAL_ANOMALY_ID,
  VISUAL_ANOMALY_INPUT,
  VISUAL_ANOMALY_INPUT_SHAPE,
  VISUAL_ANOMALY_OUTPUT,
  VISUAL_ANOMALY_OUTPUT_SHAPE,
} from './visual-anomaly';
export {
  buildPhotoFraudClassifierModel,
  PHOTO_FRAUD_CLASSES,
  PHOTO_FRAUD_CLASSIFIER_ID,
  PHOTO_FRAUD_INPUT,
  PHOTO_FRAUD_INPUT_SHAPE,
  PHOTO_FRAUD_LABEL_OUTPUT,
  PHOTO_FRAUD_SCORE_OUTPUT,
} from './photo-fraud-classifier';

// Building blocks
export { attr, GraphBuilder } from './onnx-graph';
export type { Attribute, Dim, ElementType, ModelOptions, OpsetImport } from './onnx-graph';
export { createPrng } from './prng';
export type { Prng } from './prng';
export { renderSampleImages } from './sample-images';
export type { SampleImage } from './sample-images';
