/** The run's time budget: every wait and every HTTP attempt is cut to what is left of it. */
export class Deadline {
  private readonly endsAt: number;

  constructor(
    budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.endsAt = now() + budgetMs;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now());
  }

  /** Timeout for one attempt: the configured one, or less if the budget is nearly spent. */
  attemptTimeoutMs(configuredMs: number): number {
    return Math.min(configuredMs, this.remainingMs());
  }
}
