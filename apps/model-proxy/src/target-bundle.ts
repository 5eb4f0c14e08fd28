import type { BundleSignature } from '@bundlegate/bundle';

/** `--target-bundle` names a bundle the signature does not have. */
export class TargetBundleError extends Error {
  override readonly name = 'TargetBundleError';
}

/**
 * The signature reduced to one bundle, as existing deployments' `--target-bundle` serves it: the other
 * bundles' models are neither loaded, routed, listed in /api/v1/config nor probed.
 */
export function selectBundle(signature: BundleSignature, name: string): BundleSignature {
  const bundle = signature.bundles.find((b) => b.name === name);
  if (bundle === undefined) {
    const names = signature.bundles.map((b) => b.name).join(', ');
    throw new TargetBundleError(`--target-bundle ${name}: ${signature.file} has no bundle ${JSON.stringify(name)}; its bundles: ${names}`);
  }
  return { ...signature, bundles: [bundle] };
}
