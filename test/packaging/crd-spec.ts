// specs/stork-crds.yaml is generated from the CRD definitions stork installs itself (storkCrds), so that
// users who apply the specs and stork's own start-up install exactly the same schemas.
import { stringify } from 'yaml';
import { storkCrds } from '../../src/k8s/crds/install.js';

export const crdSpecPath = new URL('../../specs/stork-crds.yaml', import.meta.url);

/** The text of specs/stork-crds.yaml: a header, then one document per CRD. */
export function crdSpecText(): string {
  const header = [
    "# stork's CustomResourceDefinitions: VolumeSnapshot, VolumeSnapshotData, Rule, SchedulePolicy,",
    '# NamespacedSchedulePolicy, VolumeSnapshotSchedule and SchedulingDecision.',
    '# Generated from src/k8s/crds by `npm run specs:crds`; do not edit by hand.',
    '# Stork installs and upgrades these itself too; applying them first lets users create snapshots and',
    '# rules before stork has started.',
  ].join('\n');
  const documents = storkCrds.map((crd) => stringify(crd, { lineWidth: 0 }).trimEnd());
  return `${header}\n${documents.join('\n---\n')}\n`;
}
