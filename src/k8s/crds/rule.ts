import type { CustomResourceDefinition, ObjectMeta } from '../../wire/k8s-types.js';
import { bool, obj, str, stringMap, type JsonSchema } from './schema.js';

/** Stork's Rule (`stork.libopenstorage.org/v1alpha1`): commands run in pods around a snapshot. */
export const storkGroup = 'stork.libopenstorage.org';
export const ruleApiVersion = `${storkGroup}/v1alpha1`;

export interface RuleAction {
  /** Only `command` is supported; anything else is a validation error at snapshot time. */
  type: string;
  value: string;
  background?: boolean;
  runInSinglePod?: boolean;
}

export interface RuleItem {
  podSelector?: Record<string, string>;
  /** The container to run in (later Stork); the pod's first container if unset. */
  container?: string;
  actions: RuleAction[];
}

/**
 * Both shapes Stork has had: early Rules carry the items in `spec` (a list), later ones in `rules`.
 */
export interface Rule {
  apiVersion?: typeof ruleApiVersion;
  kind?: 'Rule';
  metadata: ObjectMeta;
  spec?: RuleItem[];
  rules?: RuleItem[];
}

const items: JsonSchema = {
  type: 'array',
  items: obj(
    {
      podSelector: stringMap('Labels a pod must have (all of them) for the actions to run in it.'),
      container: str('Container to run the commands in; the first container if unset.'),
      actions: {
        type: 'array',
        items: obj(
          {
            // Kept a free string (as Stork): an unsupported type is reported on the snapshot that uses it.
            type: str('The action type; only "command" is supported.'),
            value: str('The command, run with sh -c.'),
            background: bool('Keep the command running while the snapshot is taken (needs ${WAIT_CMD}).'),
            runInSinglePod: bool('Run in the first matching pod only.'),
          },
          { required: ['type', 'value'] },
        ),
      },
    },
    { required: ['actions'] },
  ),
};

export const ruleCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `rules.${storkGroup}` },
  spec: {
    group: storkGroup,
    scope: 'Namespaced',
    names: { kind: 'Rule', listKind: 'RuleList', plural: 'rules', singular: 'rule' },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        additionalPrinterColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
        schema: {
          openAPIV3Schema: obj({
            apiVersion: str(),
            kind: str(),
            metadata: { type: 'object' },
            spec: items,
            rules: items,
          }),
        },
      },
    ],
  },
};
