//! The xlsb side of the package check: an xlsb part is a stream of binary records, each of a
//! type (1–2 bytes) and a length (1–4 bytes) in 7-bit groups; calamine allocates a record's
//! announced length before reading it. Bounded here: every record's length
//! (`max_row_bytes`), shared strings (count, bytes, characters), text cells and sheet rows.
use super::super::super::{ImportError, ImportLimits, LimitHit, EXCEL_MAX_ROWS};

/// Which xlsb part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Records {
    SharedStrings,
    Sheet,
    Other,
}

/// Streams an xlsb part: records of a type (1–2 bytes) and a length (1–4 bytes), each 7 bits.
pub(super) struct RecordScan<'a> {
    kind: Records,
    name: &'a str,
    limits: ImportLimits,
    /// Reading the type or the length: the bytes so far.
    head: Vec<u8>,
    typ: Option<u16>,
    /// The record's data: how much is left, and its first bytes.
    left: u64,
    data: Vec<u8>,
    strings: u64,
    string_bytes: u64,
    rows: u64,
}

/// The first data bytes looked at: a cell's header and a string's length.
const RECORD_HEAD: usize = 16;

impl<'a> RecordScan<'a> {
    pub(super) fn new(kind: Records, name: &'a str, limits: &ImportLimits) -> Self {
        Self {
            kind,
            name,
            limits: *limits,
            head: Vec::new(),
            typ: None,
            left: 0,
            data: Vec::new(),
            strings: 0,
            string_bytes: 0,
            rows: 0,
        }
    }

    pub(super) fn feed(&mut self, mut data: &[u8]) -> Result<(), ImportError> {
        while !data.is_empty() {
            if self.left > 0 {
                let n = (self.left as usize).min(data.len());
                let want = RECORD_HEAD.saturating_sub(self.data.len()).min(n);
                self.data.extend_from_slice(&data[..want]);
                self.left -= n as u64;
                data = &data[n..];
                if self.left == 0 {
                    self.record()?;
                }
                continue;
            }
            let b = data[0];
            data = &data[1..];
            self.head.push(b);
            let more = b & 0x80 != 0;
            match self.typ {
                None if !more || self.head.len() == 2 => {
                    let t = self
                        .head
                        .iter()
                        .enumerate()
                        .fold(0u16, |t, (i, b)| t | (u16::from(b & 0x7F) << (7 * i)));
                    self.typ = Some(t);
                    self.head.clear();
                }
                Some(_) if !more || self.head.len() == 4 => {
                    let len = self
                        .head
                        .iter()
                        .enumerate()
                        .fold(0u64, |l, (i, b)| l | (u64::from(b & 0x7F) << (7 * i)));
                    self.head.clear();
                    if len > self.limits.max_row_bytes {
                        return Err(LimitHit::Markup {
                            part: self.name.to_string(),
                            what: "a record over the row limit",
                        }
                        .into());
                    }
                    self.left = len;
                    self.data.clear();
                    if len == 0 {
                        self.record()?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A record is complete (its first bytes are in `self.data`).
    fn record(&mut self) -> Result<(), ImportError> {
        let typ = self.typ.take();
        let u32_at = |at: usize| {
            self.data
                .get(at..at + 4)
                .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        };
        // The character count of a wide string: after a flags byte in a shared string
        // (BrtSSTItem, 19), after the cell's eight bytes in a text cell (BrtCellSt, 6) or a
        // formula's text result (BrtFmlaString, 8).
        let chars = match (self.kind, typ) {
            (Records::SharedStrings, Some(19)) => {
                self.strings += 1;
                if self.strings > self.limits.max_shared_strings {
                    return Err(LimitHit::SharedStrings(self.limits.max_shared_strings).into());
                }
                let n = u32_at(1);
                self.string_bytes += n.unwrap_or(0) * 2;
                if self.string_bytes > self.limits.max_shared_string_bytes {
                    return Err(
                        LimitHit::SharedStringBytes(self.limits.max_shared_string_bytes).into(),
                    );
                }
                n
            }
            (Records::Sheet, Some(0)) => {
                self.rows += 1;
                if self.rows > EXCEL_MAX_ROWS {
                    return Err(LimitHit::SheetRows(self.name.to_string()).into());
                }
                None
            }
            (Records::Sheet, Some(6 | 8)) => u32_at(8),
            _ => None,
        };
        if chars.is_some_and(|n| n > self.limits.max_cell_chars) {
            return Err(LimitHit::CellTooLong {
                part: self.name.to_string(),
                max: self.limits.max_cell_chars,
            }
            .into());
        }
        Ok(())
    }
}
