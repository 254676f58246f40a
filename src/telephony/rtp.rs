//! RTP packets (RFC 3550): a tolerant parser (CSRCs, header extension, padding) and a writer.
//! Pure; parsing borrows the payload from the datagram.

/// Synchronisation source of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ssrc(pub u32);

/// RTP sequence number, compared with wrap-around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SequenceNumber(pub u16);

impl SequenceNumber {
    /// Signed distance from `other` to `self` (positive if `self` is newer), across wrap-around.
    pub fn since(self, other: SequenceNumber) -> i32 {
        i32::from(self.0.wrapping_sub(other.0) as i16)
    }
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;

/// A parsed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: SequenceNumber,
    pub timestamp: u32,
    pub ssrc: Ssrc,
    pub payload: &'a [u8],
}

/// Why a datagram is not an RTP packet we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("shorter than an RTP header ({0} bytes)")]
    TooShort(usize),
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("CSRC list runs past the end of the packet")]
    BadCsrc,
    #[error("header extension runs past the end of the packet")]
    BadExtension,
    #[error("padding length {0} does not fit the packet")]
    BadPadding(u8),
}

/// Parses one datagram.
pub fn parse(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < HEADER_LEN {
        return Err(RtpError::TooShort(buf.len()));
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0f);
    let mut start = HEADER_LEN + 4 * csrc_count;
    if start > buf.len() {
        return Err(RtpError::BadCsrc);
    }
    if extension {
        if start + 4 > buf.len() {
            return Err(RtpError::BadExtension);
        }
        let words = usize::from(u16::from_be_bytes([buf[start + 2], buf[start + 3]]));
        start += 4 + 4 * words;
        if start > buf.len() {
            return Err(RtpError::BadExtension);
        }
    }
    let mut end = buf.len();
    if padding {
        let n = buf[buf.len() - 1];
        if n == 0 || usize::from(n) > end - start {
            return Err(RtpError::BadPadding(n));
        }
        end -= usize::from(n);
    }
    Ok(RtpPacket {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7f,
        seq: SequenceNumber(u16::from_be_bytes([buf[2], buf[3]])),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: Ssrc(u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]])),
        payload: &buf[start..end],
    })
}

/// Writes a packet (no CSRCs, no extension, no padding) into `out`; returns its length, or
/// `None` when `out` is too small.
pub fn write(
    out: &mut [u8],
    marker: bool,
    payload_type: u8,
    seq: SequenceNumber,
    timestamp: u32,
    ssrc: Ssrc,
    payload: &[u8],
) -> Option<usize> {
    let len = HEADER_LEN + payload.len();
    let o = out.get_mut(..len)?;
    o[0] = 0x80;
    o[1] = (u8::from(marker) << 7) | (payload_type & 0x7f);
    o[2..4].copy_from_slice(&seq.0.to_be_bytes());
    o[4..8].copy_from_slice(&timestamp.to_be_bytes());
    o[8..12].copy_from_slice(&ssrc.0.to_be_bytes());
    o[HEADER_LEN..].copy_from_slice(payload);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_parses_back() {
        let mut buf = [0u8; 200];
        let n = write(
            &mut buf,
            true,
            0,
            SequenceNumber(65535),
            0xdead_beef,
            Ssrc(42),
            &[1, 2, 3],
        )
        .unwrap();
        let p = parse(&buf[..n]).unwrap();
        assert!(p.marker);
        assert_eq!(
            (p.payload_type, p.seq, p.timestamp, p.ssrc, p.payload),
            (
                0,
                SequenceNumber(65535),
                0xdead_beef,
                Ssrc(42),
                &[1u8, 2, 3][..]
            )
        );
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut b = vec![0xb2u8, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7];
        b.extend([0u8; 8]); // two CSRCs
        b.extend([0xbe, 0xde, 0, 1, 9, 9, 9, 9]); // extension of one word
        b.extend([5u8, 6, 7]); // payload
        b.extend([0, 0, 3]); // padding of 3
        let p = parse(&b).unwrap();
        assert_eq!(p.payload, &[5, 6, 7]);
        assert_eq!(p.payload_type, 8);
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        assert_eq!(parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        assert_eq!(parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        assert_eq!(
            parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpError::BadCsrc)
        );
        assert_eq!(
            parse(&[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
            Err(RtpError::BadExtension)
        );
        assert_eq!(
            parse(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]),
            Err(RtpError::BadPadding(200))
        );
        for len in 0..40 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 0x80) as u8).collect();
            let _ = parse(&junk);
        }
    }

    #[test]
    fn sequence_numbers_compare_across_wrap() {
        assert_eq!(SequenceNumber(2).since(SequenceNumber(65534)), 4);
        assert_eq!(SequenceNumber(65534).since(SequenceNumber(2)), -4);
    }
}
