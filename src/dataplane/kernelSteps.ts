/**
 * The kernel changes of one data-plane pass, made one by one: a change the kernel refuses is logged with what
 * it was and the pass goes on (one bad entry must not leave the rest stale); the pass counts what took.
 */
import type { Logger } from 'pino';

export class KernelSteps {
  changes = 0;

  /** context: logged with every refusal (the network, the subnet) */
  constructor(private readonly log: Logger, private readonly context: Record<string, unknown>, private readonly msg: string) {}

  async step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.changes++;
    } catch (e) {
      this.log.warn({ err: e, ...this.context, what }, this.msg);
    }
  }
}
