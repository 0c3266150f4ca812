// A second public entry of consensus/ (test/tidy.test.ts, EXTRA_PUBLIC_ENTRIES): what a node (the
// orbital agent, the scheduler ↔ node protocol) needs — the ed25519 rule, canonical signed bytes,
// identifiers, usage receipts and key files — without Tendermint, the ledger, the validator
// service and its RPC (node:http, undici) and libp2p transport, which index.ts also loads. Every
// name here is also exported by index.ts, unchanged.
export type { Ed25519KeyPair, Ed25519Signer, PublicKeyCheck, PublicKeyRefusal } from './ed25519.ts';
export {
  checkPublicKeyForRegistration, ed25519KeyPairFromSeed, ed25519PublicKeyFromSeed, ed25519SeedFromRng, ed25519Sign, ed25519Signer,
  ed25519Verify, ED25519_MESSAGE_BYTES_MAX, ED25519_SIGNATURE_BYTES, PUBLIC_KEY_CACHE_ENTRIES_MAX, randomEd25519Seed,
} from './ed25519.ts';
export type { CanonicalFormat } from './canonical-bytes.ts';
export { bytesEqual, CHAIN_ID_PATTERN, checkChainId, decodeCanonical, DOMAIN_TAG_PATTERN, sha256, SIGNING_DOMAINS, signingBytes } from './canonical-bytes.ts';
export { AMOUNT_MINOR_MAX, CURRENCY_PATTERN, ID_PATTERN } from './identifiers.ts';
export type {
  NewReceipt, ReceiptCheckContext, ReceiptRejection, ReceiptSignerKey, ReceiptVerdict, ResourceUsage, SignedReceipt, UsageReceipt,
} from './receipt.ts';
export {
  decodeSignedReceipt, encodeSignedReceipt, KEY_EPOCH_MAX, makeReceipt, RECEIPT_BYTES_MAX, RECEIPT_FORMAT_VERSION, RECEIPT_VALIDITY_MS_DEFAULT,
  RECEIPT_VALIDITY_MS_MAX, receiptKey, receiptSigningBytes, signReceipt, validateReceipt, verifyReceipt,
} from './receipt.ts';
// key-file.ts, not validator-config.ts: the validator configuration's schema would load TypeBox's type builder.
export { KEY_FILE_BYTES_MAX, readKeyFile } from './key-file.ts';
