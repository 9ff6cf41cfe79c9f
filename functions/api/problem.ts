// The provisioning API's problem documents: the shared ones (functions/problem.ts) and the mapping
// of an AccountRegistrar refusal to its status.
import type { Outcome, Refusal } from "../../durable-objects/account-registrar/outcome";
import { problemResponse, ProblemError } from "../problem";

export { answerError, problemResponse, ProblemError, type FieldError, type Problem } from "../problem";

const REFUSAL_STATUS = { not_found: 404, conflict: 409, invalid: 422 } as const;

/** The problem document for an AccountRegistrar refusal. */
export function refusalResponse(refusal: Refusal): Response {
  return problemResponse(
    REFUSAL_STATUS[refusal.kind],
    refusal.detail,
    refusal.field ? [{ field: refusal.field, message: refusal.detail }] : undefined,
  );
}

/** The value of an AccountRegistrar outcome, or the problem its refusal maps to. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const { kind, detail, field } = outcome.refusal;
  throw new ProblemError(REFUSAL_STATUS[kind], detail, field ? [{ field, message: detail }] : undefined);
}
