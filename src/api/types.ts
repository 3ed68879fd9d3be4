/**
 * The ContainerJob manifest API (acictl.dev/v1), as TypeScript types.
 *
 * `schemas/containerjob.v1.schema.json` is the source of truth; test/manifest/schema-types.test.ts
 * proves these types and the schema agree. `ContainerJob` is what a user writes (everything
 * optional that has a default); `ResolvedJob` is the same job after validation and defaulting,
 * with durations in milliseconds and times as epoch milliseconds — the only form the schedule,
 * plan and aci layers see.
 */

export const API_GROUP = 'acictl.dev';
export const API_VERSION = 'acictl.dev/v1';
export const KIND = 'ContainerJob';

/** A reference to a secret value: an environment variable of the controller, or a file. */
/** An Azure Key Vault secret (issue 19): a vault the operator allowed, a secret, optionally a fixed version. */
export interface KeyVaultRef { vault: string; secret: string; version?: string }
export type SecretRef = { env: string } | { file: string } | { keyVault: KeyVaultRef };

export interface ObjectMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the controller's API (Kubernetes object metadata); ignored when read from a file. */
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface ContainerJob {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: ContainerJobSpec;
}

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';
export type GroupPolicy = 'PerRun' | 'Reuse';
export type CleanupAction = 'Delete' | 'Keep';

export interface ContainerJobSpec {
  schedule?: string | null;
  timeZone?: string;
  startTime?: string | null;
  endTime?: string | null;
  suspend?: boolean;
  catchup?: boolean;
  maxCatchupRuns?: number;
  startingDeadlineSeconds?: number | null;
  concurrencyPolicy?: ConcurrencyPolicy;
  retries?: number;
  retryDelay?: string;
  retryBackoff?: { factor?: number; maxDelay?: string };
  timeout?: string | null;
  groupPolicy?: GroupPolicy;
  failIfExists?: boolean;
  cleanup?: { onSuccess?: CleanupAction; onFailure?: CleanupAction; ttlAfterFinished?: string | null };
  successfulRunsHistoryLimit?: number;
  failedRunsHistoryLimit?: number;
  dependsOn?: Dependency[];
  dependsOnPast?: boolean;
  notify?: NotifyTarget[];
  template: GroupTemplate;
}

/** What a notification target can be told about (spec.notify[].on). */
export type NotifyEvent = 'failure' | 'retry' | 'missed' | 'recovery' | 'invalid';

/** One notification target: exactly one of webhook / email (checked by the validator). */
export interface NotifyTarget {
  name?: string;
  on?: NotifyEvent[];
  webhook?: WebhookTarget;
  email?: EmailTarget;
}

/** A JSON POST per event, HMAC-SHA256 signed with the key read from secretFrom. */
export interface WebhookTarget {
  url: string;
  secretFrom: SecretRef;
  timeout?: string;
}

/** An e-mail per event over SMTP. */
export interface EmailTarget {
  host: string;
  port?: number;
  tls?: 'implicit' | 'starttls' | 'opportunistic' | 'none';
  tlsVerify?: boolean;
  from: string;
  to: string[];
  username?: string;
  passwordFrom?: SecretRef;
  subjectPrefix?: string;
}

/** An upstream job whose runs for the same data interval must have succeeded first. */
export interface Dependency {
  job: string;
}

/** `count` is 1, 2 or 4 (checked by the validator). */
export interface GpuResource { count: number; sku: 'K80' | 'P100' | 'V100' }
export interface ResourceAmounts { cpu: number; memoryInGB: number; gpu?: GpuResource }

export interface EnvironmentVariable {
  name: string;
  value?: string;
  secureValueFrom?: SecretRef;
}

export interface ContainerPort { port: number; protocol?: 'TCP' | 'UDP' }
export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean }

export interface Container {
  name: string;
  image: string;
  command?: string[];
  environmentVariables?: EnvironmentVariable[];
  resources: { requests: ResourceAmounts; limits?: Partial<ResourceAmounts> };
  ports?: ContainerPort[];
  volumeMounts?: VolumeMount[];
}

export interface InitContainer {
  name: string;
  image: string;
  command?: string[];
  environmentVariables?: EnvironmentVariable[];
  volumeMounts?: VolumeMount[];
}

export interface ImageRegistryCredential {
  server: string;
  username?: string;
  passwordFrom?: SecretRef;
  /** Resource id of a user-assigned identity used to pull instead of a password. */
  identity?: string;
}

/** An empty directory volume has no settings: `emptyDir: {}`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EmptyDirVolume {}

export interface Volume {
  name: string;
  azureFile?: { shareName: string; storageAccountName: string; storageAccountKeyFrom?: SecretRef; readOnly?: boolean };
  emptyDir?: EmptyDirVolume;
  /** File name → secret reference; the file content is the secret value. */
  secret?: Record<string, SecretRef>;
  gitRepo?: { repository: string; directory?: string; revision?: string };
}

export interface IpAddress {
  type: 'Public' | 'Private';
  ports: ContainerPort[];
  dnsNameLabel?: string;
  ip?: string;
}

export interface GroupTemplate {
  subscriptionId?: string | null;
  resourceGroup: string;
  location: string;
  osType?: 'Linux' | 'Windows';
  restartPolicy?: 'Never' | 'OnFailure';
  priority?: 'Regular' | 'Spot';
  sku?: 'Standard' | 'Dedicated' | 'Confidential';
  zones?: string[];
  containers: Container[];
  initContainers?: InitContainer[];
  imageRegistryCredentials?: ImageRegistryCredential[];
  volumes?: Volume[];
  ipAddress?: IpAddress;
  subnetIds?: { id: string; name?: string }[];
  dnsConfig?: { nameServers: string[]; searchDomains?: string; options?: string };
  diagnostics?: { logAnalytics: { workspaceId: string; workspaceKeyFrom: SecretRef; logType?: 'ContainerInsights' | 'ContainerInstanceLogs'; workspaceResourceId?: string } };
  identity?: { type: 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned' | 'None'; userAssignedIdentities?: string[] };
  tags?: Record<string, string>;
}

/**
 * A validated job with every default applied. Durations are milliseconds, instants are epoch
 * milliseconds, `template.location` is normalised ("East US" → "eastus") and
 * `template.subscriptionId` is null when the controller's default subscription applies.
 */
export interface ResolvedJob {
  name: string;
  labels: Record<string, string>;
  schedule: string | null;
  timeZone: string;
  startTime: number | null;
  endTime: number | null;
  suspend: boolean;
  catchup: boolean;
  maxCatchupRuns: number;
  startingDeadlineMs: number | null;
  concurrencyPolicy: ConcurrencyPolicy;
  retries: number;
  retryDelayMs: number;
  retryBackoffFactor: number;
  retryMaxDelayMs: number;
  timeoutMs: number | null;
  groupPolicy: GroupPolicy;
  failIfExists: boolean;
  cleanup: { onSuccess: CleanupAction; onFailure: CleanupAction; ttlAfterFinishedMs: number | null };
  successfulRunsHistoryLimit: number;
  failedRunsHistoryLimit: number;
  /** Upstream job names (spec.dependsOn), in order, without repeats. */
  dependsOn: string[];
  dependsOnPast: boolean;
  template: GroupTemplate & { osType: 'Linux' | 'Windows'; restartPolicy: 'Never' | 'OnFailure'; priority: 'Regular' | 'Spot' };
}
