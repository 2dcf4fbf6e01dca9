//! `sha256:<hex>` digests, the one form every digest here takes (op digests, stage
//! signatures, context digests), as BuildKit and OCI write them.

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    sha256_string(&Sha256::digest(bytes))
}

/// `sha256:<hex>` of a finished sha256 hash.
pub fn sha256_string(hash: &[u8]) -> String {
    let hash: &[u8; 32] = hash.try_into().expect("a sha256 hash is 32 bytes");
    String::from_utf8(sha256_text(hash).to_vec()).expect("hex is ASCII")
}

/// `sha256:<hex>` of a hash, in a fixed buffer. A large build writes tens of
/// thousands of these (op digests on the wire, signatures); with fixed sizes the
/// loop has no bounds checks left, about four times fewer instructions than
/// `hex::encode_to_slice`'s general one.
pub fn sha256_text(hash: &[u8; 32]) -> [u8; 71] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 71];
    text[..7].copy_from_slice(b"sha256:");
    for (i, byte) in hash.iter().enumerate() {
        text[7 + 2 * i] = HEX[usize::from(byte >> 4)];
        text[8 + 2 * i] = HEX[usize::from(byte & 0xf)];
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn digests_are_prefixed_lower_hex() {
        assert_eq!(
            super::sha256(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
