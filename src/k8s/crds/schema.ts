/** The subset of OpenAPI v3 a CRD's structural schema uses here. */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'boolean' | 'integer' | 'number';
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  required?: string[];
  enum?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  /** Accept an explicit null (Go's nil pointers and maps serialise as null). */
  nullable?: boolean;
}

export const str = (description?: string): JsonSchema => ({
  type: 'string',
  ...(description ? { description } : {}),
});
export const bool = (description?: string): JsonSchema => ({
  type: 'boolean',
  ...(description ? { description } : {}),
});
export const obj = (properties: Record<string, JsonSchema>, extra: Partial<JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...extra,
});
export const stringMap = (description?: string): JsonSchema => ({
  type: 'object',
  additionalProperties: { type: 'string' },
  ...(description ? { description } : {}),
});

/** A reference to another object, as core/v1 ObjectReference. */
export const objectReference: JsonSchema = obj({
  apiVersion: str(),
  kind: str(),
  namespace: str(),
  name: str(),
  uid: str(),
  resourceVersion: str(),
  fieldPath: str(),
});

/** The status conditions of the external-storage snapshot API. */
export const snapshotConditions: JsonSchema = {
  type: 'array',
  items: obj(
    {
      type: { type: 'string', enum: ['Pending', 'Ready', 'Error'] },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: str(),
      message: str(),
    },
    { required: ['type', 'status'] },
  ),
};
