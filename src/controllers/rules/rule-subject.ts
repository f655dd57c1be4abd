// The kinds of object whose snapshots run Stork's rules: a VolumeSnapshot names its rules in annotations
// and snapshots one claim; a GroupVolumeSnapshot names them in its spec and snapshots several claims.
import type { PersistentVolumeClaim } from '../../wire/k8s-types.js';
import type { KubeClient } from '../../k8s/client.js';
import { groupVolumeSnapshotApiVersion } from '../../k8s/crds/group-volume-snapshot.js';
import { snapshotApiVersion } from '../../k8s/crds/volume-snapshot.js';
import { resources, type ResourceType } from '../../k8s/paths.js';
import type { SnapshotSubject } from '../snapshot/hooks.js';
import { ruleNameFor, type RulePhase } from './rule-spec.js';
import { labelSelectorMatches } from '../../drivers/node-selectors.js';

export interface RuleSubjectKind {
  readonly apiVersion: string;
  readonly kind: string;
  /** Where the subjects live: the running-commands record is patched here, recovery lists them here. */
  readonly resource: ResourceType;
  /** The rule the subject names for a phase, or undefined (throws RuleValidationError if ambiguous). */
  ruleName(subject: SnapshotSubject, phase: RulePhase): string | undefined;
  /** The claims of the subject (its namespace's), whose pods alone a recorded command is released in. */
  claimsOf(subject: SnapshotSubject, api: KubeClient, signal: AbortSignal): Promise<readonly string[]>;
}

export const volumeSnapshotSubject: RuleSubjectKind = {
  apiVersion: snapshotApiVersion,
  kind: 'VolumeSnapshot',
  resource: resources.volumeSnapshots,
  ruleName: (subject, phase) => ruleNameFor(subject.metadata, phase),
  claimsOf: (subject) => {
    const claim = subject.spec?.persistentVolumeClaimName;
    return Promise.resolve(claim ? [claim] : []);
  },
};

export const groupVolumeSnapshotSubject: RuleSubjectKind = {
  apiVersion: groupVolumeSnapshotApiVersion,
  kind: 'GroupVolumeSnapshot',
  resource: resources.groupVolumeSnapshots,
  ruleName: (subject, phase) => {
    const name = (phase === 'pre' ? subject.spec?.preExecRule : subject.spec?.postExecRule)?.trim();
    return name ? name : undefined;
  },
  claimsOf: async (subject, api, signal) => {
    const selector = subject.spec?.pvcSelector;
    if (!selector) return [];
    const claims = await api.list<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      subject.metadata.namespace ?? '',
      { signal },
    );
    return claims.items
      .filter((claim) =>
        labelSelectorMatches(selector, { metadata: { labels: claim.metadata?.labels ?? {} } }),
      )
      .map((claim) => claim.metadata?.name ?? '');
  },
};
