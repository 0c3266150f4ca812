// Sizes of the raw ed25519 keys our libp2p identities are made from (RFC 8032): shared by the
// libp2p node and by code that checks keys without loading libp2p.
export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
