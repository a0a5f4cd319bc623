import type { Logger } from '../lib/logger.js';

/**
 * Heartbeats for one lease: renews it every `everyMs` (a third of the lease, so two missed
 * beats still leave it held) and calls `onLost` once a renewal finds it gone. A renewal that
 * errors (database unreachable) is retried at the next beat; should the lease expire
 * meanwhile, fencing keeps the late holder's writes out.
 */
export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout;
  private isRenewing = false;
  private isStopped = false;

  constructor(private readonly opts: { renew: () => Promise<boolean>; everyMs: number; onLost: () => void; logger: Logger; what: string }) {
    this.timer = setInterval(() => void this.beat(), Math.max(10, opts.everyMs));
    this.timer.unref();
  }

  stop(): void {
    this.isStopped = true;
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    if (this.isRenewing || this.isStopped) return;
    this.isRenewing = true;
    try {
      const isHeld = await this.opts.renew();
      if (!isHeld && !this.isStopped) {
        this.stop();
        this.opts.onLost();
      }
    } catch (err) {
      this.opts.logger.warn({ err, lease: this.opts.what }, 'could not renew a lease; retrying at the next beat');
    } finally {
      this.isRenewing = false;
    }
  }
}
