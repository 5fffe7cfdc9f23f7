//! RFC 6455 section 5.3 masking: XOR with a 4-byte key, and fresh keys for the client role.
//! (tungstenite 0.30 keeps its own `apply_mask` and `generate_mask` private.)

/// XOR `buf` with `mask`, where `buf` starts `offset` bytes into the masked payload.
pub(crate) fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = [0u8; 8];
    for (i, k) in key.iter_mut().enumerate() {
        *k = mask[(offset + i) & 3];
    }
    let word = u64::from_ne_bytes(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().expect("8 bytes")) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
        *b ^= k;
    }
}

/// Unpredictable masking keys from OpenSSL's RNG, fetched 16 at a time.
#[derive(Debug)]
pub(crate) struct MaskSource {
    pool: [u8; 64],
    used: usize,
}

impl Default for MaskSource {
    fn default() -> Self {
        MaskSource {
            pool: [0; 64],
            used: 64,
        }
    }
}

impl MaskSource {
    /// The next key.
    pub(crate) fn next(&mut self) -> [u8; 4] {
        if self.used == self.pool.len() {
            // RFC 6455 wants an unpredictable key; should the RNG fail, any key is still valid.
            let _ = openssl::rand::rand_bytes(&mut self.pool);
            self.used = 0;
        }
        let k = self.pool[self.used..self.used + 4]
            .try_into()
            .expect("4 bytes");
        self.used += 4;
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_at_any_offset_matches_the_bytewise_definition() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..100u8).collect();
        for offset in 0..8 {
            for len in [0, 1, 7, 8, 9, 31, 100] {
                let mut got = data[..len].to_vec();
                apply_mask(&mut got, mask, offset);
                let want: Vec<u8> = data[..len]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[(offset + i) & 3])
                    .collect();
                assert_eq!(got, want, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn keys_differ() {
        let mut m = MaskSource::default();
        let keys: Vec<[u8; 4]> = (0..40).map(|_| m.next()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 30, "{keys:?}");
    }
}
