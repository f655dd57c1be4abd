import type { CustomResourceDefinition, ObjectMeta } from '../../wire/k8s-types.js';
import { obj, str } from './schema.js';
import { storkGroup } from './rule.js';

export const schedulingDecisionApiVersion = `${storkGroup}/v1alpha1`;

/**
 * Stork's record of the extender's last answer for one pod (`stork.libopenstorage.org/v1alpha1`), named
 * and namespaced as the pod and owned by it, so the garbage collector removes it with the pod. A record
 * of its own rather than a pod annotation: nothing watches these objects, while every write to a pod is
 * sent to every pod watcher of the cluster (the schedulers, the controller manager, the kubelets).
 * `decision` is the document `storkctl explain` prints (scheduling-documents.ts).
 */
export interface SchedulingDecisionObject {
  apiVersion: typeof schedulingDecisionApiVersion;
  kind: 'SchedulingDecision';
  metadata: ObjectMeta;
  decision: unknown;
}

export const schedulingDecisionCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `schedulingdecisions.${storkGroup}` },
  spec: {
    group: storkGroup,
    scope: 'Namespaced',
    names: {
      kind: 'SchedulingDecision',
      listKind: 'SchedulingDecisionList',
      plural: 'schedulingdecisions',
      singular: 'schedulingdecision',
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        additionalPrinterColumns: [
          { name: 'Top-Node', type: 'string', jsonPath: '.decision.topNode' },
          { name: 'Replica', type: 'string', jsonPath: '.decision.replica' },
          { name: 'Decided', type: 'date', jsonPath: '.decision.time' },
        ],
        schema: {
          openAPIV3Schema: obj({
            apiVersion: str(),
            kind: str(),
            metadata: { type: 'object' },
            // Written by stork only, read by storkctl: its shape is checked by the code on both sides.
            decision: {
              type: 'object',
              description: "The extender's last answer for the pod (see docs/storkctl.md).",
              'x-kubernetes-preserve-unknown-fields': true,
            },
          }),
        },
      },
    ],
  },
};
