// @bundlegate/cli: the `bundlegate` command — deployments generated from a bundle, launch profiles, the local stack.

// ---- command line
export { runCli, USAGE, type CliIo } from './cli';

// ---- containers shared by every generator
export {
  bashHttpCheck,
  BUNDLEGATE_APPS,
  DEFAULT_REGISTRY,
  DEFAULT_SERVING_RESOURCES,
  DEFAULT_TAG,
  ENGINE_IMAGES,
  literalImages,
  nodeHttpCheck,
  servingContainer,
  servingResourceVar,
  type BundlegateApp,
  type ImageRef,
  type ServingContainer,
} from './containers';
export { containerBundleYaml, containerSource, fileSourceMounts, type FileSourceMount } from './bundle-copy';

// ---- docker compose
export { composeBase, composeImages, envRef, COMPOSE_FILE, type ComposeBase, type ComposeFile, type ComposeOptions, type ComposeService, type GpuSelection } from './compose';
export { composeExample, EXAMPLE_FILES, servingVariables, type ExampleOptions } from './compose-example';
export { generateCompose, replaceDirectory, type GenerateComposeOptions, type GenerateComposeResult } from './generate-compose';

// ---- Kubernetes
export { k8sManifests, k8sCpu, k8sMemory, k8sYaml, kustomization, BUNDLE_CONFIGMAP, CREDS_SECRET, type K8sManifests, type K8sObject, type K8sOptions } from './k8s';
export { generateK8s, validateK8sObject, type GenerateK8sOptions, type GenerateK8sResult } from './generate-k8s';

// ---- launch profiles
export { dockerRunArgs, hostPath, loadProfile, parseProfile, printProfile, profileNetworks, ProfileError, PROFILE_SCHEMA, type Profile, type ProfileContainer } from './profile';
export { DockerCommandError, ensureNetworks, profileSteps, runProfile, type ProfileRunOptions } from './profile-run';

// ---- the local stack (`up`)
export { appMain, missingApps, planUp, sampleImage, STACK_APPS, upBanner, UpPlanError, type StackApp, type UpOptions, type UpPlan } from './up';
export { busyPorts, DEFAULT_STACK_PORTS, freeStackPorts, portConflicts, portsFromBase, STACK_PORT_NAMES, type StackPorts } from './ports';
export { findRepoRoot, demoBundle } from './repo-root';

// ---- process supervision and readiness
export { runStack, type RunStackOptions, type StackIo, type StackOutcome, type StackResult, type StackStep } from './stack';
export { describeExit, SupervisedChild, Supervisor, type ChildExit, type ChildSpec, type SupervisorOptions } from './supervisor';
export { httpProbe, ReadinessTimeoutError, waitUntilReady, type Probe, type ProbeResult, type WaitOptions } from './readiness';
