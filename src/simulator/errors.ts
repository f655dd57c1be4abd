// Errors of the storage simulator (a test and demo tool), by kind, so that the gRPC side can answer
// with the status code a real OpenStorage SDK server uses and the admin side with an HTTP status.

export type SimulatorErrorKind =
  'NotFound' | 'InvalidArgument' | 'AlreadyExists' | 'FailedPrecondition' | 'ResourceExhausted';

export class SimulatorError extends Error {
  constructor(
    readonly kind: SimulatorErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SimulatorError';
  }
}
