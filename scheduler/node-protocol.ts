// The second public entry of scheduler/ (test/tidy.test.ts, PUBLIC_ENTRIES): the scheduler ↔ node
// protocol in bundle payloads alone (job-assignment.ts; service numbers in README.md). The agents
// import it instead of index.ts, which loads placement, the job store, country borders (d3-geo,
// topojson) and the configuration schema, none of which a node runs (orbital/README.md, "Memory and
// start-up"). index.ts re-exports all of it.
export type {
  AssignedRuntime, AssignedWorkload, AssignmentCheckContext, AssignmentInput, AssignmentRejection, AssignmentVerdict, ContactPlanUpdate, FinishedDetail,
  InputPartRef, JobAssignment, JobInputPart, JobOutcome, JobResultPayload, JobRunUsage, NodeReport, NodeReportKind, ResultDestination,
  SignedContactPlanUpdate, SignedJobAssignment, SignedJobResult, SignedNodeReport, TelemetryPayload,
} from './job-assignment.ts';
export {
  contactPlanUpdateSigningBytes, decodeContactPlanUpdate, decodeJobAssignment, decodeJobInputPart, decodeJobResult, decodeNodeReport,
  decodeTelemetryPayload, encodeContactPlanUpdate, encodeJobAssignment, encodeJobInputPart, encodeJobResult, encodeNodeReport, encodeTelemetryPayload,
  inputPartMatches, JOB_OUTCOMES, JOB_PROTOCOL_LIMITS, JOB_PROTOCOL_VERSION, JOB_RESULT_OVERHEAD_BYTES_MAX, jobAssignmentSigningBytes,
  jobResultSigningBytes, nodeReportSigningBytes, reportReasonText, SERVICE_NUMBERS, signContactPlanUpdate, signJobAssignment, signJobResult,
  signNodeReport, validateContactPlanUpdate, validateJobAssignment, validateJobResult, validateNodeReport, verifyContactPlanUpdate,
  verifyJobAssignment, verifyJobResult, verifyNodeReport,
} from './job-assignment.ts';
