//! Incremental UTF-8 validation of a text message as its bytes arrive, across frame and read
//! boundaries, with `std::str::from_utf8`'s error detail (`valid_up_to`, `error_len`): an
//! invalid sequence is found as soon as its bytes are in, and a message that ends inside a
//! sequence is invalid too.

/// Validation state of one text message: at most three bytes of a sequence still incomplete.
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8 {
    carry: [u8; 4],
    held: usize,
}

/// The bytes seen so far are not UTF-8.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

impl Utf8 {
    /// Start a new message.
    pub(crate) fn reset(&mut self) {
        self.held = 0;
    }

    /// Validate the next bytes of the message.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Result<(), Invalid> {
        if self.held > 0 {
            // Complete the sequence carried over from the previous piece, a byte at a time
            // at most up to the four a sequence can have.
            let take = (4 - self.held).min(bytes.len());
            let mut tmp = self.carry;
            tmp[self.held..self.held + take].copy_from_slice(&bytes[..take]);
            let n = self.held + take;
            match std::str::from_utf8(&tmp[..n]) {
                Ok(_) => {
                    bytes = &bytes[take..];
                    self.held = 0;
                }
                Err(e) if e.valid_up_to() >= self.held => {
                    // The carried sequence completed; re-check the rest from where it ended.
                    bytes = &bytes[e.valid_up_to() - self.held..];
                    self.held = 0;
                }
                Err(e) if e.error_len().is_some() => return Err(Invalid),
                Err(_) => {
                    // Still incomplete: every byte of `bytes` went into the carry.
                    self.carry = tmp;
                    self.held = n;
                    return Ok(());
                }
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Invalid),
            Err(e) => {
                let rest = &bytes[e.valid_up_to()..];
                self.carry[..rest.len()].copy_from_slice(rest);
                self.held = rest.len();
                Ok(())
            }
        }
    }

    /// The message ended: valid only if no sequence is left incomplete.
    pub(crate) fn finish(&mut self) -> Result<(), Invalid> {
        let complete = self.held == 0;
        self.held = 0;
        if complete {
            Ok(())
        } else {
            Err(Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validate `bytes` cut into pieces at every pair of cut points.
    fn check_all_splits(bytes: &[u8]) {
        let whole = std::str::from_utf8(bytes).is_ok();
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let mut v = Utf8::default();
                let r = v
                    .push(&bytes[..a])
                    .and_then(|_| v.push(&bytes[a..b]))
                    .and_then(|_| v.push(&bytes[b..]))
                    .and_then(|_| v.finish());
                assert_eq!(r.is_ok(), whole, "{bytes:x?} cut at {a}, {b}");
            }
        }
    }

    #[test]
    fn agrees_with_from_utf8_at_every_split() {
        let cases: &[&[u8]] = &[
            b"hello",
            "h€llo 😀 ü".as_bytes(),
            &[0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80],
            &[b'a', 0xe2, 0x82],             // ends mid-sequence
            &[0xe2, 0x82, 0x41],             // bad continuation
            &[0xff, b'a'],                   // never valid
            &[0xed, 0xa0, 0x80],             // surrogate
            &[0xf4, 0x90, 0x80, 0x80],       // above U+10FFFF
            &[0xc0, 0xaf],                   // overlong
            &[0xf0, 0x9f, 0x98, 0x80, 0xf0], // valid then truncated
        ];
        for c in cases {
            check_all_splits(c);
        }
    }

    #[test]
    fn invalid_sequence_fails_before_the_message_ends() {
        let mut v = Utf8::default();
        assert_eq!(v.push(&[b'o', b'k', 0xe2]), Ok(()));
        // The second byte already rules the sequence out.
        assert_eq!(v.push(&[0x28]), Err(Invalid));
    }
}
