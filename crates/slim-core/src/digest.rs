//! Content digests (`sha256:<hex>`), checked while data streams past so a blob is verified
//! without ever being held whole, and computed while data is written.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A sha256 content digest; the only algorithm images use in practice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// From 64 lowercase hex characters.
    pub fn from_hex(hex: &str) -> Option<Digest> {
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Digest { hex: hex.into() })
    }

    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(<Sha256 as sha2::Digest>::digest(bytes)),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Where the blob lives in an OCI image layout.
    pub fn blob_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("{text:?} is not a sha256 digest"))?;
        Digest::from_hex(hex).ok_or_else(|| format!("{text:?} is not a sha256 digest"))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a verified stream failed; readers above (decompressors, tar) may rewrap the
/// `io::Error`, so the fault is also left in a shared slot the caller can look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFault {
    Mismatch {
        expected: Digest,
        actual: Digest,
    },
    /// the data ended after `actual` of `expected` bytes
    Short {
        expected: u64,
        actual: u64,
    },
    /// more data than the descriptor's size
    Long {
        expected: u64,
    },
}

impl fmt::Display for StreamFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamFault::Mismatch { expected, actual } => {
                write!(f, "digest is {actual}, expected {expected}")
            }
            StreamFault::Short { expected, actual } => {
                write!(f, "ends after {actual} of {expected} bytes")
            }
            StreamFault::Long { expected } => write!(f, "longer than its {expected} bytes"),
        }
    }
}

impl std::error::Error for StreamFault {}

pub type FaultSlot = Rc<RefCell<Option<StreamFault>>>;

/// Hashes (optionally) and counts what is read through it; at the end of the data it
/// checks the expected size and digest and fails the read that saw the end if either is off.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    expected: Option<Digest>,
    expected_size: Option<u64>,
    read: u64,
    finished: Option<Digest>,
    fault: FaultSlot,
}

impl<R: Read> VerifyingReader<R> {
    /// `hash` false only counts (when another reader already checks the same bytes).
    pub fn new(inner: R, expected: Option<Digest>, expected_size: Option<u64>, hash: bool) -> Self {
        VerifyingReader {
            inner,
            hasher: hash.then(Sha256::new),
            expected,
            expected_size,
            read: 0,
            finished: None,
            fault: Rc::new(RefCell::new(None)),
        }
    }

    pub fn fault_slot(&self) -> FaultSlot {
        self.fault.clone()
    }

    /// Digest of everything read, once the end was reached (None when not hashing).
    pub fn digest(&self) -> Option<&Digest> {
        self.finished.as_ref()
    }

    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn fail(&self, fault: StreamFault) -> io::Error {
        let kind = match fault {
            StreamFault::Short { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        *self.fault.borrow_mut() = Some(fault.clone());
        io::Error::new(kind, fault)
    }

    /// A short stream fails at once. A digest mismatch is recorded and reported from the
    /// next read on, so a reader above that stops at a cut first reports the cut where it
    /// is (a tar entry, by name); [`VerifyingReader::verdict`] reports it regardless.
    fn at_end(&mut self) -> io::Result<()> {
        if let Some(fault) = self.fault.borrow().clone() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, fault));
        }
        if let Some(expected) = self.expected_size
            && self.read < expected
        {
            return Err(self.fail(StreamFault::Short {
                expected,
                actual: self.read,
            }));
        }
        if self.finished.is_none()
            && let Some(hasher) = self.hasher.take()
        {
            let actual = Digest {
                hex: hex::encode(hasher.finalize()),
            };
            self.finished = Some(actual.clone());
            if let Some(expected) = self.expected.clone()
                && expected != actual
            {
                *self.fault.borrow_mut() = Some(StreamFault::Mismatch { expected, actual });
            }
        }
        Ok(())
    }

    /// Read to the end and say whether size and digest were right.
    pub fn verdict(&mut self) -> Result<(), StreamFault> {
        let drained = drain(self);
        if let Some(fault) = self.fault.borrow().clone() {
            return Err(fault);
        }
        drained.map(|_| ()).map_err(|_| StreamFault::Short {
            expected: self.expected_size.unwrap_or(0),
            actual: self.read,
        })
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.at_end()?;
            return Ok(0);
        }
        self.read += n as u64;
        if let Some(expected) = self.expected_size
            && self.read > expected
        {
            return Err(self.fail(StreamFault::Long { expected }));
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Read `reader` to its end and discard the bytes (the digest checks need the whole stream).
pub fn drain(reader: &mut impl Read) -> io::Result<u64> {
    io::copy(reader, &mut io::sink())
}

/// Hex sha256 of a byte slice (no `sha256:` prefix).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<Sha256 as sha2::Digest>::digest(bytes))
}

/// A writer that hashes and counts everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The inner writer, the hex digest and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            hex::encode(self.hasher.finalize()),
            self.written,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let d = Digest::of_bytes(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!("sha512:abc".parse::<Digest>().is_err());
        assert!("sha256:ABC".parse::<Digest>().is_err());
        assert!(Digest::from_hex("../../etc/passwd").is_none());
    }

    #[test]
    fn verifies_at_the_end() {
        let good = Digest::of_bytes(b"hello");
        let mut r = VerifyingReader::new(&b"hello"[..], Some(good.clone()), Some(5), true);
        assert_eq!(r.verdict(), Ok(()));
        assert_eq!(r.digest(), Some(&good));

        let mut r = VerifyingReader::new(&b"hellO"[..], Some(good.clone()), Some(5), true);
        // the read that meets the end succeeds; the mismatch shows from then on
        assert_eq!(drain(&mut r).unwrap(), 5);
        assert!(matches!(r.verdict(), Err(StreamFault::Mismatch { .. })));
        assert_eq!(
            drain(&mut r).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );

        let mut r = VerifyingReader::new(&b"hel"[..], Some(good.clone()), Some(5), true);
        assert_eq!(
            drain(&mut r).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut r = VerifyingReader::new(&b"hello!"[..], Some(good), Some(5), true);
        assert!(drain(&mut r).is_err());
        assert_eq!(
            *r.fault_slot().borrow(),
            Some(StreamFault::Long { expected: 5 })
        );
    }

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"ab").unwrap();
        w.write_all(b"c").unwrap();
        let (inner, digest, n) = w.finish();
        assert_eq!((inner.as_slice(), n), (&b"abc"[..], 3));
        assert_eq!(digest, sha256_hex(b"abc"));
    }
}
