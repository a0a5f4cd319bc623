/** This process no longer holds the job's or batch's lease (it expired and another took it): stop, write nothing. */
export class LeaseLostError extends Error {
  constructor(what: string) {
    super(`the lease on ${what} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** The job was cancelled, finished, or its collection deleted: its work stops and writes nothing more. */
export class JobInactiveError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} is no longer active`);
    this.name = 'JobInactiveError';
  }
}

/**
 * A kind ends its job as failed with `detail` (what users see, so it names records, never
 * internals). With `afterBatches`, the batches already planned still run first (an import
 * whose file breaks off keeps the records before the break).
 */
export class JobFailedError extends Error {
  constructor(
    readonly detail: string,
    readonly opts: { afterBatches?: boolean } = {},
  ) {
    super(detail);
    this.name = 'JobFailedError';
  }
}
