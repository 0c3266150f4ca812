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
