// What /readyz reports: every named check must pass. Checks are added by the parts that own them.
export class Readiness {
  private readonly checks = new Map<string, { ok: boolean; detail: string }>();

  set(name: string, ok: boolean, detail = ''): void {
    this.checks.set(name, { ok, detail });
  }

  get ready(): boolean {
    for (const check of this.checks.values()) if (!check.ok) return false;
    return this.checks.size > 0;
  }

  report(): { ready: boolean; checks: Record<string, { ok: boolean; detail: string }> } {
    return { ready: this.ready, checks: Object.fromEntries(this.checks) };
  }
}
