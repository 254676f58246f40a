//! The limits of one import (issue 9 §3: one upload must not exhaust the server's memory) and
//! the whole-file error each says when hit, with what to do. What is bounded: the bytes sent
//! (`max_bytes`), what a spreadsheet unpacks to and holds (checked by
//! `spreadsheet::scan` before the spreadsheet reader opens it), the rows of any format, one
//! row's text (for CSV, `RecordGuard` here counts a record's bytes as the CSV parser will see
//! it, so the parser's buffer cannot grow past the limit), one cell, and the shared strings a
//! workbook keeps in memory. A limit hit is a whole-file error: nothing is imported (413 for
//! the bytes sent, 422 for everything about the content).
use std::io::Read;

/// Excel's own limit for the text of one cell (characters).
pub const EXCEL_MAX_CELL_CHARS: u64 = 32_767;
/// Excel's own limit for the rows of one sheet.
pub const EXCEL_MAX_ROWS: u64 = 1_048_576;
/// Excel's own limit for the columns of one sheet (the last is XFD).
pub const EXCEL_MAX_COLUMNS: u64 = 16_384;

/// Limits of one import. `Default` is what the server uses unless `[import]` says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// The file as sent, bytes (config `import.max_bytes`). Spreadsheets are held whole in
    /// memory, so they have their own lower ceiling, `spreadsheet::MAX_SPREADSHEET_BYTES`.
    pub max_bytes: u64,
    /// What a spreadsheet's parts that are read unpack to, bytes (config
    /// `import.max_unpacked_bytes`), counted while decompressing.
    pub max_unpacked_bytes: u64,
    /// Data rows of any format (config `import.max_rows`).
    pub max_rows: u64,
    /// One row's text, bytes: a CSV record between line breaks outside quotes, or the cell
    /// texts of one spreadsheet row.
    pub max_row_bytes: u64,
    /// Characters of one cell in a spreadsheet.
    pub max_cell_chars: u64,
    /// Shared strings a workbook may hold (the reader keeps them all in memory)…
    pub max_shared_strings: u64,
    /// …and their text, bytes.
    pub max_shared_string_bytes: u64,
    /// Memory an .ods sheet may take once the reader has expanded its repeated rows and
    /// columns into a grid (an estimate from the file, made before reading it).
    pub max_sheet_memory: u64,
    /// Problems listed in full in the answer; the rest are counted.
    pub max_listed_problems: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            max_unpacked_bytes: 1 << 30,
            max_rows: 5_000_000,
            max_row_bytes: 1 << 20,
            max_cell_chars: EXCEL_MAX_CELL_CHARS,
            max_shared_strings: 4_000_000,
            max_shared_string_bytes: 128 << 20,
            max_sheet_memory: 160 << 20,
            max_listed_problems: 100,
        }
    }
}

impl From<&crate::config::ImportConfig> for ImportLimits {
    fn from(c: &crate::config::ImportConfig) -> Self {
        Self {
            max_bytes: c.max_bytes,
            max_unpacked_bytes: c.max_unpacked_bytes,
            max_rows: c.max_rows,
            ..Self::default()
        }
    }
}

/// `1073741824` → `1 GiB`, `1048577` → `1048577 bytes`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A limit on what the file holds: nothing was imported. Each message says what and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitHit {
    #[error(
        "the spreadsheet unpacks to more than {} (its parts are compressed inside the file); \
         nothing was imported: a list this large goes in as CSV (in Excel: File → Save As → \
         CSV UTF-8), or split it into several files",
        bytes(*.0)
    )]
    Unpacked(u64),
    #[error(
        "a cell in {part} holds more than {max} characters, more than Excel allows in a cell, so \
         the file was not saved by Excel or is damaged; nothing was imported: open it in Excel, \
         save it again as .xlsx or CSV and upload that"
    )]
    CellTooLong { part: String, max: u64 },
    #[error(
        "the workbook holds more than {0} different texts (Excel's shared strings), more than \
         the importer keeps in memory; nothing was imported: save it as CSV (File → Save As → \
         CSV UTF-8) and upload that"
    )]
    SharedStrings(u64),
    #[error(
        "the workbook's texts (Excel's shared strings) take more than {}, more than the \
         importer keeps in memory; nothing was imported: save it as CSV (File → Save As → CSV \
         UTF-8) and upload that",
        bytes(*.0)
    )]
    SharedStringBytes(u64),
    #[error(
        "the file has more than {0} rows; nothing was imported: split it into files of at most \
         {0} rows"
    )]
    TooManyRows(u64),
    #[error(
        "a worksheet in {0} has more rows than Excel allows (1048576), so the file was not \
         saved by Excel or is damaged; nothing was imported: open it in Excel, save it again \
         and upload that"
    )]
    SheetRows(String),
    #[error(
        "row {row} holds more than {} of text; nothing was imported: check that row (in a CSV \
         file a quote \" that is never closed makes the rest of the file one row)",
        bytes(*.max)
    )]
    RowTooLong { row: u64, max: u64 },
    #[error(
        "the record that starts on line {line} is longer than {}; nothing was imported: check \
         that line (a quote \" that is never closed makes the rest of a CSV file one record)",
        bytes(*.max)
    )]
    RecordTooLong { line: u64, max: u64 },
    #[error(
        "row {0} has more cells than Excel allows in a row (16384), so the file was not saved \
         by Excel or is damaged; nothing was imported: open it in Excel, save it again and \
         upload that"
    )]
    TooManyCells(u64),
    #[error(
        "the file holds more than {0} parts, which no workbook saved by Excel or LibreOffice \
         does; nothing was imported: open it in Excel, save it again and upload that"
    )]
    Parts(u64),
    #[error(
        "{part} is not XML as Excel and LibreOffice write it ({what}), so the file is damaged \
         or was made to break readers; nothing was imported: open it in Excel, save it again \
         as .xlsx or CSV and upload that"
    )]
    Markup { part: String, what: &'static str },
    #[error(
        "the sheet would take more than {} of memory once its repeated rows and columns are \
         expanded; nothing was imported: save it as CSV (File → Save As → CSV UTF-8) or .xlsx \
         and upload that",
        bytes(*.0)
    )]
    SheetTooLarge(u64),
}

/// The error `RecordGuard` fails with, told apart from the input's own errors by type.
#[derive(Debug)]
pub(crate) struct RecordLimit(pub LimitHit);

impl std::fmt::Display for RecordLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RecordLimit {}

/// The limit an I/O error stands for, if it is `RecordGuard`'s.
pub(crate) fn record_limit(e: &std::io::Error) -> Option<LimitHit> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<RecordLimit>())
        .map(|l| l.0.clone())
}

/// Where a CSV parser is within a record, as the `csv` crate's parser moves (a quote opens a
/// quoted field only at the start of a field; `""` inside one is a quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// Counts the bytes of each CSV record (line breaks inside quotes belong to the record) and
/// fails once one is longer than `max`, before the parser would have buffered it whole. It
/// sees the raw bytes: a quote, the delimiter and line breaks are the same bytes in UTF-8 and
/// Windows-1251.
pub(crate) struct RecordGuard<R> {
    inner: R,
    delimiter: u8,
    max: u64,
    state: CsvState,
    len: u64,
    line: u64,
    record_line: u64,
}

impl<R> RecordGuard<R> {
    pub(crate) fn new(inner: R, delimiter: u8, max: u64) -> Self {
        Self {
            inner,
            delimiter,
            max,
            state: CsvState::StartField,
            len: 0,
            line: 1,
            record_line: 1,
        }
    }

    fn end_record(&mut self) {
        self.state = CsvState::StartField;
        self.len = 0;
        self.record_line = self.line;
    }

    fn step(&mut self, b: u8) -> Result<(), LimitHit> {
        use CsvState::*;
        if b == b'\n' {
            self.line += 1;
        }
        let newline = b == b'\n' || b == b'\r';
        match (self.state, b) {
            (InQuoted, b'"') => self.state = QuoteInQuoted,
            (InQuoted, _) => {}
            (QuoteInQuoted, b'"') => self.state = InQuoted,
            (StartField, b'"') => self.state = InQuoted,
            (_, d) if d == self.delimiter => self.state = StartField,
            (_, _) if newline => {
                self.end_record();
                return Ok(());
            }
            (_, _) => self.state = InField,
        }
        self.len += 1;
        if self.len > self.max {
            return Err(LimitHit::RecordTooLong {
                line: self.record_line,
                max: self.max,
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.step(b)
                .map_err(|hit| std::io::Error::other(RecordLimit(hit)))?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(text: &str, max: u64) -> Result<(), LimitHit> {
        let mut g = RecordGuard::new(text.as_bytes(), b';', max);
        let mut sink = Vec::new();
        match g.read_to_end(&mut sink) {
            Ok(_) => Ok(()),
            Err(e) => Err(record_limit(&e).expect("a limit error")),
        }
    }

    #[test]
    fn records_are_measured_as_the_csv_parser_sees_them() {
        assert_eq!(guard("phone;name\n123;abc\r\n45;\"a;b\"\n", 12), Ok(()));
        // Line breaks inside quotes belong to the record.
        let quoted = "phone\n\"1\n2\n3\n4\n5\n6\n7\"\n";
        assert_eq!(
            guard(quoted, 10),
            Err(LimitHit::RecordTooLong { line: 2, max: 10 })
        );
        // `""` inside quotes is a quote; a quote inside an unquoted field is a character.
        assert_eq!(guard("a\"\"\nb\nc\"d\ne\n", 4), Ok(()));
        assert_eq!(guard("\"a\"\"b\"\nc\n", 6), Ok(()));
        // A quote that never closes makes the rest one record.
        let open = format!("phone\n\"{}", "12345;\n".repeat(100));
        assert!(matches!(
            guard(&open, 100),
            Err(LimitHit::RecordTooLong { line: 2, .. })
        ));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(128 << 20), "128 MiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
