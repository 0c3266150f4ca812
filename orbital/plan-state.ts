// The contact plan the node runs on, kept across restarts: the configured plan file until a signed
// update arrives (service 6), then the newest update, written to `<dataDir>/contact-plan.json`
// with common's replaceFileDurably (temporary file, fsync, rename, directory fsync), so a crash
// leaves the old plan or the new one whole. The file holds the update's plan text as received with
// its issue time and epoch: updates apply only when newer than this.
import { existsSync } from 'node:fs';
import { OrbitfedError, readBoundedTextFile, replaceFileDurably } from '../common/index.ts';
import { ContactPlan, loadContactPlanFile, parseContactPlanText } from '../contact-plans/plan.ts';
import { JOB_PROTOCOL_LIMITS } from '../scheduler/node-protocol.ts';

export const PLAN_STATE_FILE = 'contact-plan.json';

export interface PlanState {
  readonly plan: ContactPlan;
  readonly planEpochMs: number | undefined;
  /** The update's issue time; 0 for the configured plan file. */
  readonly issuedAtMs: number;
}

interface StoredPlanState {
  readonly issuedAtMs: number;
  readonly planEpochMs: number | null;
  readonly planText: string;
}

/** Writes an update that was verified and parsed, durably. */
export function writePlanState(path: string, update: { readonly issuedAtMs: number; readonly planEpochMs: number | undefined; readonly planText: string }): void {
  const stored: StoredPlanState = { issuedAtMs: update.issuedAtMs, planEpochMs: update.planEpochMs ?? null, planText: update.planText };
  replaceFileDurably(path, `${JSON.stringify(stored)}\n`, 0o600);
}

/**
 * The plan to start with: the stored update at `statePath` if there is one, else the configured
 * plan file. A stored file that cannot be read is an error (ORBITFED_PLAN_STATE), never silently
 * replaced by an older plan.
 */
export async function loadPlanState(statePath: string, configuredFile: string, configuredEpochMs: number | undefined): Promise<PlanState> {
  if (!existsSync(statePath)) return { plan: await loadContactPlanFile(configuredFile), planEpochMs: configuredEpochMs, issuedAtMs: 0 };
  const text = await readBoundedTextFile(statePath, {
    what: 'stored contact plan', maxBytes: 2 * JOB_PROTOCOL_LIMITS.planTextBytesMax, readCode: 'ORBITFED_PLAN_STATE',
    tooLargeCode: 'ORBITFED_PLAN_STATE', invalidTextCode: 'ORBITFED_PLAN_STATE',
  });
  let stored: StoredPlanState;
  try {
    stored = JSON.parse(text) as StoredPlanState;
  } catch (error) {
    throw new OrbitfedError('ORBITFED_PLAN_STATE', `stored contact plan is not JSON: ${(error as Error).message}`, { file: statePath });
  }
  if (typeof stored !== 'object' || stored === null || !Number.isSafeInteger(stored.issuedAtMs) || typeof stored.planText !== 'string'
    || !(stored.planEpochMs === null || Number.isSafeInteger(stored.planEpochMs))) {
    throw new OrbitfedError('ORBITFED_PLAN_STATE', 'stored contact plan lacks issuedAtMs, planEpochMs or planText', { file: statePath });
  }
  return { plan: new ContactPlan(parseContactPlanText(stored.planText, statePath)), planEpochMs: stored.planEpochMs ?? undefined, issuedAtMs: stored.issuedAtMs };
}
