// Public entry of dtn/: the only file other folders import.
export type { Bundle, PrimaryBlock, BundleFlags, BlockFlags, CreationTimestamp, FragmentInfo, ExtensionBlock, PreviousNodeBlock, BundleAgeBlock, HopCountBlock, OpaqueBlock, PayloadBlock, CrcType, NewBundle } from './bundle.ts';
export {
  CRC_NONE, CRC_16_X25, CRC_32C, BLOCK_TYPE_PAYLOAD, BLOCK_TYPE_PREVIOUS_NODE, BLOCK_TYPE_BUNDLE_AGE, BLOCK_TYPE_HOP_COUNT,
  BUNDLE_PROTOCOL_VERSION, HOP_LIMIT_MAX, PAYLOAD_BLOCK_NUMBER, NO_BUNDLE_FLAGS, NO_BLOCK_FLAGS,
  makeBundle, validateBundle, bundleKey, aduKey, findBlock, nextBlockNumber, blockTypeOf,
} from './bundle.ts';
export type { BundleDecodeLimits, DecodedBundle, UnprocessedBlock } from './bundle-codec.ts';
export { encodeBundle, decodeBundle, decodeBundleDetailed, DEFAULT_BUNDLE_DECODE_LIMITS } from './bundle-codec.ts';
export type { Eid, NullEid, DtnEid, IpnEid } from './eid.ts';
export { NULL_EID, ipnEid, dtnEid, parseEid, formatEid, eidEquals, isSingletonEid, EID_TEXT_BYTES_MAX } from './eid.ts';
export type { DtnTimeMs } from './dtn-time.ts';
export { DTN_EPOCH_UNIX_MS, DTN_TIME_UNKNOWN, dtnTimeMs, dtnTimeFromUnixMs, unixMsFromDtnTime } from './dtn-time.ts';
export type { AdminRecord, BundleStatusReport, OtherAdminRecord, StatusAssertion, StatusTimes } from './admin-record.ts';
export { ADMIN_RECORD_TYPE_STATUS_REPORT, STATUS_REPORT_REASON, encodeAdminRecord, decodeAdminRecord, adminRecordOf, statusReportAbout, adminRecordBundle } from './admin-record.ts';
export type { ReassemblyLimits } from './fragmentation.ts';
export { fragmentBundle, Reassembler, DEFAULT_REASSEMBLY_LIMITS, FRAGMENTS_MAX } from './fragmentation.ts';
export type { ForwardingUpdate } from './forwarding-blocks.ts';
export { forwardedCopy, withHopCounted, isHopLimitExceeded, withResidenceTime, withPreviousNode, withoutPreviousNode, bundleAgeMs, isExpired } from './forwarding-blocks.ts';
export type {
  BundlePriority, BundleToStore, BundleToPut, BundleState, StoredBundle, PutRefusal, PutResult, KeyStatus,
  BundleStoreOptions, BundleStoreStats, ExpireResult, StoreVerification, ListOptions, ListWaitingOptions,
} from './bundle-store.ts';
export {
  BundleStore, BUNDLE_PRIORITY, BUNDLE_KEY_LENGTH_MAX, BUNDLE_EID_LENGTH_MAX, BUNDLE_SIZE_BYTES_MAX_DEFAULT,
  BUNDLE_SIZE_BYTES_MAX_LIMIT, BUNDLE_STORE_BATCH_MAX,
} from './bundle-store.ts';
export { BUNDLE_STORE_SCHEMA_VERSION } from './bundle-store-database.ts';
export type { BundleHandler, BundleVerdict, ConvergenceLayer, PeerAddress, ReceivedFrom, SendOptions } from './convergence-layer.ts';
export { Libp2pConvergenceLayer, LIBP2P_BUNDLE_PROTOCOL } from './libp2p-cl.ts';
export type { Libp2pConvergenceLayerOptions, Libp2pClLog } from './libp2p-cl.ts';
export { libp2pPeerIdOf } from './libp2p-peer-id.ts';
export { ED25519_SEED_BYTES, ED25519_PUBLIC_KEY_BYTES } from './libp2p-constants.ts';

/**
 * Creates a libp2p node (not started). libp2p itself (~50 MB resident) is loaded on the first call,
 * so that processes that never open the terrestrial overlay (the orbital agent) never load it.
 */
export async function createLibp2pNode(options: Libp2pNodeOptions): Promise<Libp2pNode> {
  const { createLibp2pNode: create } = await import('./libp2p-node.ts');
  return create(options);
}
import type { Libp2pNode, Libp2pNodeOptions } from './libp2p-node.ts';
export type { Libp2pNode, Libp2pNodeOptions, PeerStream, PeerStreamListener, StreamOrigin } from './libp2p-node.ts';
export type { ClLog, HostPort, ListenAddress } from './tcp-connection.ts';
export { parseHostPort, formatHostPort } from './tcp-connection.ts';
export { encodeSdnv, readSdnv, sdnvByteLength, SDNV_BYTES_MAX } from './sdnv.ts';
export type { SdnvRead } from './sdnv.ts';
export { TcpclV4ConvergenceLayer } from './tcpcl-v4.ts';
export type { TcpclV4ConvergenceLayerOptions, TcpclV4TlsOptions } from './tcpcl-v4.ts';
export { SESS_TERM_REASON, XFER_REFUSE_REASON, MSG_REJECT_REASON } from './tcpcl-v4-messages.ts';
export { TcpclV3ConvergenceLayer } from './tcpcl-v3.ts';
export type { TcpclV3ConvergenceLayerOptions } from './tcpcl-v3.ts';
export { MtcpConvergenceLayer, encodeMtcpPdu } from './mtcp.ts';
export type { MtcpConvergenceLayerOptions } from './mtcp.ts';
export { BundleAgent, DEFAULT_BUNDLE_AGENT_LIMITS, FORWARDING_GROWTH_BYTES_MAX, FRAGMENT_QUEUE_SUFFIX } from './bundle-agent.ts';
export type { BundleAgentOptions, BundleAgentLimits, BundleAgentLog, BundleAgentMetrics, SendRequest, SendReceipt, Delivery, DeliveryHandler } from './bundle-agent.ts';
export { planTimeBaseOf, planSecOf, unixMsOfPlanSec } from './plan-time.ts';
export type { PlanTimeBase } from './plan-time.ts';
export { sendOpportunity, transmissionMs } from './contact-pacing.ts';
export type { PacedContact, SendOpportunity } from './contact-pacing.ts';
export { chooseRoute, routeVolumeBytes, withContactsHidden, FRAGMENT_SEARCH_STEPS_MAX } from './route-choice.ts';
export type { RouteChoice, RouteRequest } from './route-choice.ts';
export { CreationSequence, CREATION_SEQUENCE_BLOCK_DEFAULT } from './creation-sequence.ts';
export { SimulatedNetwork, simulatedPeerAddress, SIMULATED_CL_NAME } from './simulated-network.ts';
export type { SimulatedNetworkOptions, SimulatedNetworkStats, SimulatedNetworkLog, SimulatedWindow } from './simulated-network.ts';
// The canonical CBOR writer and strict reader, for other folders' signed structures (consensus/).
export { encodeCbor, CborReader } from './cbor.ts';
export type { CborValue, CborErrorCodes } from './cbor.ts';
