// Public entry of ground/: the only file other folders import (STYLE rule 1).
export type {
  PassEvent, PassEventKind, PassSchedule, ScheduledPass, ScheduleProblem, ScheduleSatellites, ScheduleWindow, TrackResult, TrackSample,
} from './pass-schedule.ts';
export {
  compareEvents, computePassSchedule, passEvents, prepareSatellites, StationPointing, trackSecondMs, trackSecondsOf,
  SCHEDULE_PASSES_MAX, SCHEDULE_SATELLITES_MAX, SCHEDULE_WINDOW_SEC_MAX,
} from './pass-schedule.ts';
export type { PassEventSink, PassPublisherOptions } from './pass-publisher.ts';
export { PassPublisher } from './pass-publisher.ts';
export type {
  BlackoutParse, BlackoutWindow, PassEventPayload, StationState, StationTopics, StatusPayload, TelemetryPayload, TelemetryRecord, TelemetrySource, TrackPayload,
} from './mqtt-topics.ts';
export {
  BlackoutWindowSchema, parseBlackoutMessage, passEventPayload, stationTopics, trackPayload,
  BLACKOUT_DURATION_MS_MAX, BLACKOUT_PAYLOAD_BYTES_MAX, TOPIC_ROOT,
} from './mqtt-topics.ts';
export type { GroundMqttOptions, GroundMqttStats } from './mqtt-client.ts';
export {
  GroundMqttClient, INFLIGHT_MESSAGES_MAX_DEFAULT, QUEUED_MESSAGES_MAX_DEFAULT, TELEMETRY_PAYLOAD_BYTES_MAX, TRACK_WRITES_MAX_DEFAULT,
} from './mqtt-client.ts';
export type { BrokerAddress, EmbeddedBrokerOptions } from './mqtt-broker.ts';
export { EmbeddedMqttBroker, BROKER_CLIENT_QUEUE_MAX, BROKER_CONNECTIONS_MAX_DEFAULT } from './mqtt-broker.ts';

// The ground-station agent: the bridge, receipts to the validators, blackouts to the scheduler,
// terrestrial jobs, and the one wiring file (ground-agent-service.ts).
export type { GroundAgentParts, GroundAgentStats } from './ground-agent.ts';
export { GroundAgent, KEPT_RESULTS_MAX } from './ground-agent.ts';
export type { GroundAgentEndpoints, GroundAgentServiceOptions } from './ground-agent-service.ts';
export { GroundAgentService } from './ground-agent-service.ts';
export type { GroundConfig, GroundConfigFile } from './ground-config.ts';
export { GroundConfigSchema, loadGroundConfig, resolveGroundConfig } from './ground-config.ts';
export type { ReceiptAcceptance, ReceiptAnswer, ReceiptGatewayLimits, ReceiptGatewayOptions, ReceiptGatewayStats, ReceiptOutcome } from './receipt-gateway.ts';
export { RECEIPT_GATEWAY_LIMITS_DEFAULT, ReceiptGateway } from './receipt-gateway.ts';
export type { PutOutcome, QueuedReceipt } from './receipt-queue.ts';
export { RECEIPT_QUEUE_KIND, ReceiptQueue, RECEIPTS_MAX_DEFAULT } from './receipt-queue.ts';
export type { BlackoutForwarderLimits, BlackoutForwarderOptions, BlackoutForwarderStats } from './blackout-forwarder.ts';
export { BLACKOUT_FORWARDER_LIMITS_DEFAULT, BlackoutForwarder, SCHEDULER_REASON_LENGTH_MAX } from './blackout-forwarder.ts';
export type { TerrestrialExecutorLimits, TerrestrialExecutorOptions } from './terrestrial-executor.ts';
export { TERRESTRIAL_EXECUTOR_LIMITS_DEFAULT, TerrestrialExecutor } from './terrestrial-executor.ts';
export type { TerrestrialJobRow, TerrestrialJobState } from './terrestrial-job-store.ts';
export { TERRESTRIAL_JOB_STORE_KIND, TerrestrialJobStore } from './terrestrial-job-store.ts';
