//! `sha256:<hex>` digests, the one form every digest here takes (op digests, stage
//! signatures, context digests), as BuildKit and OCI write them.

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    sha256_string(&Sha256::digest(bytes))
}

/// `sha256:<hex>` of a finished sha256 hash. Hex-encodes through a fixed buffer:
/// thousands of digests a build made this show up in the compile profile.
pub fn sha256_string(hash: &[u8]) -> String {
    let mut text = [0u8; 71];
    text[..7].copy_from_slice(b"sha256:");
    hex::encode_to_slice(hash, &mut text[7..]).expect("a sha256 hash is 32 bytes");
    String::from_utf8(text.to_vec()).expect("hex is ASCII")
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
