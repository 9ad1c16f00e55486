// The ways a deploy or rollback can fail as expected (not bugs), as tagged values.

/** One expected failure; `message` is the sentence a user reads, naming the host, file or item. */
export type DeployFailure =
  | { reason: 'config'; message: string }
  | { reason: 'unknown-host-key'; message: string; fingerprints: string[] }
  | { reason: 'host-key-mismatch'; message: string; fingerprints: string[] }
  | { reason: 'unreachable'; message: string }
  | { reason: 'device-busy'; message: string }
  | { reason: 'auth-failed'; message: string }
  | { reason: 'remote-failed'; message: string }
  | { reason: 'upload-failed'; message: string }
  | { reason: 'checksum-mismatch'; message: string }
  | { reason: 'smoke-test-failed'; message: string }
  | { reason: 'latency-gate-failed'; message: string }
  | { reason: 'health-check-failed'; message: string }
  | { reason: 'nothing-to-roll-back'; message: string }
  | { reason: 'bad-model'; message: string };

export type Result<T> = { ok: true; value: T } | { ok: false; failure: DeployFailure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(failure: DeployFailure): Result<T> => ({ ok: false, failure });
