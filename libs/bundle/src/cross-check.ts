import type { BundleIssue } from './bundle-file-error';
import type { BundleManifest } from './bundle-manifest';
import { SERVING_ENGINE_DEFAULTS, SIGNATURE_ENGINE_PROTOCOL, type ServingEngine, type SignatureEngine } from './engines';
import type { BundleSignature } from './signature-types';

export interface ProtocolMismatch {
  id: string;
  engine: ServingEngine;
  backendInferenceEngine: SignatureEngine;
}

export interface CrossCheckReport {
  /** Deployed models the signature does not describe: the proxy cannot expose them. */
  onlyInBundle: string[];
  /** Signature models bundle.yaml does not deploy: calls to them would find no backend. */
  onlyInSignature: string[];
  /** Models whose serving engine speaks another protocol than the signature's engine. */
  protocolMismatches: ProtocolMismatch[];
  /** The same findings positioned in their files, ready for `new BundleFileError(issues)`. */
  issues: BundleIssue[];
}

/** Compares the models bundle.yaml deploys with the models its signature describes. */
export function crossCheck(bundle: BundleManifest, signature: BundleSignature): CrossCheckReport {
  const signatureModels = new Map(signature.bundles.flatMap((b) => b.models.map((m) => [m.id, m] as const)));
  const deployed = new Set(bundle.models.map((m) => m.id));
  const report: CrossCheckReport = { onlyInBundle: [], onlyInSignature: [], protocolMismatches: [], issues: [] };
  for (const model of bundle.models) {
    const described = signatureModels.get(model.id);
    if (described === undefined) {
      report.onlyInBundle.push(model.id);
      report.issues.push({ ...model.location, message: `model '${model.id}' is not in the signature ${signature.file}` });
      continue;
    }
    const served = SERVING_ENGINE_DEFAULTS[model.engine].protocol;
    const expected = SIGNATURE_ENGINE_PROTOCOL[described.backendInferenceEngine];
    if (served !== expected) {
      report.protocolMismatches.push({ id: model.id, engine: model.engine, backendInferenceEngine: described.backendInferenceEngine });
      report.issues.push({
        ...model.location,
        message: `engine ${model.engine} speaks ${served}, but the signature's backendInferenceEngine ${described.backendInferenceEngine} expects ${expected}`,
      });
    }
  }
  for (const [id, model] of signatureModels) {
    if (deployed.has(id)) continue;
    report.onlyInSignature.push(id);
    report.issues.push({ ...model.location, message: `model '${id}' is not deployed by ${bundle.file}` });
  }
  return report;
}
