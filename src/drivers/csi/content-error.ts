/**
 * Whether the error on a CSI snapshot (single or group) is final, read from its content, which is the
 * csi-snapshotter sidecar's own word. No content, or one gone or going: the snapshot controller's own
 * error (a class it cannot use, the content missing), final. Marked being created: the sidecar retries
 * (CreateSnapshot answered "unavailable", say). A handle: the snapshot is cut, and any error since is a
 * readiness check the sidecar retries until the content is ready. No error of its own: the snapshot's
 * status is behind. Only an error with neither mark is final.
 */
export function contentErrorIsFinal(
  content:
    | {
        metadata: { deletionTimestamp?: string; annotations?: Record<string, string> };
        status?: { error?: unknown };
      }
    | undefined,
  beingCreatedAnnotation: string,
  handle: string | undefined,
): boolean {
  if (!content || content.metadata.deletionTimestamp) return true;
  if (content.metadata.annotations?.[beingCreatedAnnotation] !== undefined) return false;
  return content.status?.error !== undefined && handle === undefined;
}
