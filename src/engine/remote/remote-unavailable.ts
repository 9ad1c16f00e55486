// A remote that cannot be reached, refuses us or stalls. The run cache treats it as a miss:
// the run prints one warning line and builds, it never fails because a cache is down.

export class RemoteUnavailableError extends Error {
  override readonly name = 'RemoteUnavailableError';

  constructor(
    /** The remote's configured name. */
    readonly remote: string,
    /** Why, in a few words from the transport: "connection refused", "timed out after 10 s". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`remote ${remote} unavailable: ${reason}`, options);
  }
}

/** True for the error a store throws when its server is down, slow or refuses us. */
export function isRemoteUnavailable(err: unknown): err is RemoteUnavailableError {
  return err instanceof RemoteUnavailableError;
}
