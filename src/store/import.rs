//! Contact import (spec §2, §9; issue 4). This file owns what every format shares — the header's
//! columns (телефон/phone, имя/name, приоритет/priority by Russian or English names; every other
//! column is kept as a contact field), a row of cell texts → a contact or row problems, several
//! numbers per contact normalised to Russian E.164, an extension typed after a number kept in a
//! field, a number Excel saved in scientific notation reported once, duplicates within the file
//! merged, the rows limit — plus the CSV reader (UTF-8 with or without BOM or Windows-1251
//! detected from the bytes, `;` or `,` sniffed from the header line) and `read_contacts`, which
//! picks CSV or spreadsheet from the first bytes. The report and its caps live in `report`, the
//! limits and their messages in `limits`. Spreadsheets are read in `super::spreadsheet` and
//! handed to the same row handling; no format may grow its own copy of it. CSV streams: memory
//! stays bounded by one record (`ImportLimits::max_row_bytes`), the listed problems and the set
//! of numbers seen (`MAX_SEEN`).
use super::phone::{normalize_ru, split_extension, RuNumber};
use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

mod limits;
mod report;

pub use super::spreadsheet::{read_xlsx, WorkbookProblem};
pub use limits::{ImportLimits, LimitHit, EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS};
pub use report::{ImportReport, RowProblem, EXTENSION_FIELD};

/// One contact read from a row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedContact {
    /// 1-based row as a spreadsheet shows it (in a CSV the header is row 1, the first contact 2).
    pub row: u64,
    pub name: Option<String>,
    /// Normalised numbers, in the row's column order, without duplicates.
    pub numbers: Vec<RuNumber>,
    pub priority: i32,
    /// Every other column: header → value.
    pub fields: BTreeMap<String, String>,
}

/// Why a whole file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("no phone column: the header {0:?} has none named телефон/phone/номер/тел/мобильный")]
    NoPhoneColumn(Vec<String>),
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("row {row}: {reason}")]
    Csv { row: u64, reason: String },
    /// A spreadsheet that cannot be opened: what is wrong and what to do.
    #[error("{0}")]
    Workbook(#[from] WorkbookProblem),
    /// A limit on what the file holds or unpacks to.
    #[error("{0}")]
    Limit(#[from] LimitHit),
}

/// The role of a column, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Phone,
    Name,
    Priority,
    Field(String),
}

fn classify(header: &str) -> Column {
    let h = header.trim().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    // "номер" alone is a phone column; "номер договора" is not.
    let bare = h.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '.');
    if has(&["телефон", "phone", "мобильн", "mobile", "msisdn"])
        || matches!(bare, "тел" | "номер" | "tel")
    {
        Column::Phone
    } else if has(&["фио", "имя", "name", "клиент", "абонент"]) {
        Column::Name
    } else if has(&["приоритет", "priority"]) {
        Column::Priority
    } else {
        Column::Field(header.trim().to_string())
    }
}

/// What a spreadsheet shows (and writes to CSV) in a cell whose formula failed.
const SPREADSHEET_ERRORS: &[&str] = &[
    "#N/A",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
];

/// Numbers kept in the set of numbers seen in this file: a table of 4 Mi slots of `u64`, about
/// 38 MB. Past it, a number seen again is no longer caught here but by the store, which merges
/// a number it has already (the `sink` contract): the counts come out the same.
const MAX_SEEN: usize = 3_600_000;

/// Row handling shared by every reader: the header's columns, a row of cell texts → a contact or
/// row problems, the numbers seen in this file (a number seen again merges) and the counts.
pub(super) struct ContactRows {
    columns: Vec<Column>,
    /// National numbers (the ten digits after +7) seen in this file.
    seen: HashSet<u64>,
    report: ImportReport,
    limits: ImportLimits,
    rows: u64,
}

/// The ten national digits of a normalised `+7…` number as one integer.
fn national(e164: &str) -> Option<u64> {
    e164.strip_prefix("+7")?.parse().ok()
}

/// What a phone cell's token is.
enum Token<'a> {
    /// A number, maybe with an extension typed after it.
    Number(&'a str, Option<&'a str>),
    /// Excel's scientific notation: `Ok(digits)` when the mantissa still holds every digit
    /// (`7.9161234567E+10`), `Err` when they are lost (`7,91612E+10`); with the text.
    Scientific(String, Result<String, ()>),
}

/// `7,91612E+10`, `7.91612e10`, `7E+10`: a number Excel showed in scientific notation (a
/// column too narrow, or typed as a number) and a CSV saved as shown.
fn scientific(value: &str) -> Option<Result<String, ()>> {
    let (mantissa, exponent) = value.split_once(['e', 'E'])?;
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (int, frac) = mantissa.split_once([',', '.']).unwrap_or((mantissa, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !(frac.is_empty() || digits(frac)) || !digits(exponent) {
        return None;
    }
    let exponent: usize = exponent.parse().ok().filter(|&e| e <= 20)?;
    // The digits shown, and how many the whole number has.
    let shown = format!("{int}{frac}");
    if shown.len() == int.len() + exponent {
        Some(Ok(shown))
    } else {
        Some(Err(()))
    }
}

/// Splits a phone cell into its tokens: numbers separated by `,`, `;` or `/`, except that a
/// number in scientific notation keeps its decimal comma (`7,91612E+10` is one token).
fn tokens(cell: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for piece in cell.split([';', '/']) {
        let parts: Vec<&str> = piece.split(',').collect();
        let mut i = 0;
        while i < parts.len() {
            let part = parts[i].trim();
            // `7` `,` `91612E+10`: one number with a decimal comma.
            if i + 1 < parts.len() {
                let joined = format!("{part},{}", parts[i + 1].trim());
                if let Some(s) = scientific(&joined) {
                    out.push(Token::Scientific(joined, s));
                    i += 2;
                    continue;
                }
            }
            if let Some(s) = scientific(part) {
                out.push(Token::Scientific(part.to_string(), s));
            } else if !part.is_empty() {
                let (number, ext) = split_extension(part);
                out.push(Token::Number(number, ext));
            }
            i += 1;
        }
    }
    out
}

/// What a row problem about scientific notation says.
const SCIENTIFIC_REASON: &str = "the number was saved by Excel in scientific notation and its \
    digits are lost: format the phone column as Text in Excel (Format Cells → Text), type or \
    paste the numbers again and export again";

impl ContactRows {
    /// From the header's texts (trimmed); refuses a header without a phone column.
    pub(super) fn new(headers: Vec<String>, limits: ImportLimits) -> Result<Self, ImportError> {
        let columns: Vec<Column> = headers.iter().map(|h| classify(h)).collect();
        if !columns.contains(&Column::Phone) {
            return Err(ImportError::NoPhoneColumn(headers));
        }
        Ok(Self {
            columns,
            seen: HashSet::new(),
            report: ImportReport::default(),
            limits,
            rows: 0,
        })
    }

    /// Counts a data row against `max_rows`.
    fn count_row(&mut self) -> Result<(), ImportError> {
        self.rows += 1;
        if self.rows > self.limits.max_rows {
            return Err(LimitHit::TooManyRows(self.limits.max_rows).into());
        }
        Ok(())
    }

    /// Reports a row that could not be read at all.
    pub(super) fn reject(&mut self, row: u64, reason: String) -> Result<(), ImportError> {
        self.count_row()?;
        let listed = self.limits.max_listed_problems;
        self.report
            .problem(listed, row, "", "unreadable_row", || reason);
        Ok(())
    }

    /// One data row: `(column index, trimmed text)` in column order; columns beyond the header
    /// are ignored, a row with no text at all is skipped without a word. The contact goes to
    /// `sink`, which answers whether it was new (false: merged into one the store has). Fails
    /// only past `max_rows`.
    pub(super) fn row<'a>(
        &mut self,
        row: u64,
        cells: impl IntoIterator<Item = (usize, &'a str)>,
        sink: &mut impl FnMut(ImportedContact) -> bool,
    ) -> Result<(), ImportError> {
        self.count_row()?;
        let mut c = ImportedContact {
            row,
            name: None,
            numbers: Vec::new(),
            priority: 0,
            fields: BTreeMap::new(),
        };
        let listed = self.limits.max_listed_problems;
        let report = &mut self.report;
        let mut blank = true;
        let mut any_number = false;
        let mut dup_numbers = 0;
        let mut extensions: Vec<&str> = Vec::new();
        for (i, value) in cells {
            // Problems come only from non-empty values, so a blank row has reported nothing.
            blank &= value.is_empty();
            match self.columns.get(i) {
                Some(Column::Phone) if SPREADSHEET_ERRORS.contains(&value) => {
                    // Kept whole: `#N/A` split at its `/` would be two meaningless problems.
                    any_number = true;
                    report.problem(listed, row, value, "spreadsheet_error", || {
                        "a spreadsheet error value, not a phone number: fix the formula or type \
                         the number"
                            .into()
                    });
                }
                Some(Column::Phone) => {
                    // A cell may hold several numbers separated by commas or semicolons.
                    for token in tokens(value) {
                        any_number = true;
                        let (number, ext) = match token {
                            Token::Number(number, ext) => (number.to_string(), ext),
                            Token::Scientific(_, Ok(digits)) => (digits, None),
                            Token::Scientific(text, Err(())) => {
                                report.problem(listed, row, &text, "scientific_notation", || {
                                    SCIENTIFIC_REASON.into()
                                });
                                continue;
                            }
                        };
                        match normalize_ru(&number) {
                            Ok(n) => {
                                let new = match national(&n.e164) {
                                    Some(k) if self.seen.len() < MAX_SEEN => self.seen.insert(k),
                                    Some(k) => !self.seen.contains(&k),
                                    None => true,
                                };
                                if new {
                                    c.numbers.push(n);
                                    extensions.extend(ext);
                                } else {
                                    dup_numbers += 1;
                                }
                            }
                            Err(e) => {
                                let shown = match ext {
                                    Some(ext) => format!("{number} {ext}"),
                                    None => number,
                                };
                                report.problem(listed, row, &shown, e.kind(), || e.to_string());
                            }
                        }
                    }
                }
                Some(Column::Name) if !value.is_empty() => c.name = Some(value.to_string()),
                Some(Column::Priority) if !value.is_empty() => match value.parse() {
                    Ok(p) => c.priority = p,
                    Err(_) => report.problem(listed, row, value, "bad_priority", || {
                        "priority is not a whole number (0 used)".into()
                    }),
                },
                Some(Column::Field(h)) if !value.is_empty() => {
                    c.fields.insert(h.clone(), value.to_string());
                }
                _ => {}
            }
        }
        if blank {
            return Ok(());
        }
        if c.numbers.is_empty() {
            if dup_numbers > 0 {
                report.duplicates += 1;
            } else if !any_number {
                report.problem(listed, row, "", "no_phone_number", || {
                    "no phone number in this row".into()
                });
            }
            return Ok(());
        }
        if !extensions.is_empty() {
            report.extensions += extensions.len() as u64;
            // A column of the file with that name keeps its own value.
            c.fields
                .entry(EXTENSION_FIELD.to_string())
                .or_insert_with(|| extensions.join(", "));
        }
        if sink(c) {
            report.imported += 1;
        } else {
            report.duplicates += 1;
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> ImportReport {
        self.report.finish();
        self.report
    }
}

/// How much of a CSV is looked at to detect its encoding and delimiter.
const CSV_HEAD_BYTES: u64 = 64 * 1024;

/// The error `Limited` fails with, told apart from the input's own errors by type.
#[derive(Debug)]
struct LimitExceeded;

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the import size limit was exceeded")
    }
}

impl std::error::Error for LimitExceeded {}

fn is_limit(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LimitExceeded>())
}

/// Counts bytes read, failing past the limit (huge files are refused while streaming).
struct Limited<R> {
    inner: R,
    read: u64,
    max: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::other(LimitExceeded));
        }
        Ok(n)
    }
}

/// Reads the whole input into memory (spreadsheets need seeking), refusing more than `max`
/// bytes while reading.
pub(super) fn read_all_limited(input: impl Read, max: u64) -> Result<Vec<u8>, ImportError> {
    let mut bytes = Vec::new();
    input.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ImportError::TooLarge(max));
    }
    Ok(bytes)
}

/// First bytes of a zip archive: xlsx, xlsm, xlsb and ods are zip packages.
pub(super) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// First bytes of an OLE compound file: an old .xls, or a password-encrypted xlsx/xlsb.
pub(super) const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

/// Reads contacts from a CSV or a spreadsheet, told apart by the first bytes (a zip package or
/// an OLE file → `read_xlsx`, anything else → `read_csv`), so callers need not know the
/// format. Same `sink` contract and report as both. Blocking: call it off the async runtime.
pub fn read_contacts<R: Read>(
    mut input: R,
    limits: ImportLimits,
    sink: impl FnMut(ImportedContact) -> bool,
) -> Result<ImportReport, ImportError> {
    let mut magic = Vec::with_capacity(ZIP_MAGIC.len());
    (&mut input)
        .take(ZIP_MAGIC.len() as u64)
        .read_to_end(&mut magic)?;
    let spreadsheet = magic.starts_with(ZIP_MAGIC) || magic.starts_with(OLE_MAGIC);
    let whole = Cursor::new(magic).chain(input);
    if spreadsheet {
        read_xlsx(whole, limits, sink)
    } else {
        read_csv(whole, limits, sink)
    }
}

/// Reads a CSV and hands each contact to `sink`, which answers whether it was new (false:
/// the store merged it into an existing contact). Numbers already seen in this file merge too.
pub fn read_csv<R: Read>(
    input: R,
    limits: ImportLimits,
    mut sink: impl FnMut(ImportedContact) -> bool,
) -> Result<ImportReport, ImportError> {
    let too_large = |e: std::io::Error| -> ImportError {
        if is_limit(&e) {
            ImportError::TooLarge(limits.max_bytes)
        } else {
            ImportError::Io(e)
        }
    };
    let mut limited = Limited {
        inner: input,
        read: 0,
        max: limits.max_bytes,
    };
    // The head is read in full (one `read` may answer only a few bytes of a stream).
    let mut head = Vec::new();
    (&mut limited)
        .take(CSV_HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(too_large)?;
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    // UTF-8 if the head decodes (allowing a character cut at its end), else CP1251.
    let utf8 = match std::str::from_utf8(&head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let first_line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let first_line = &head[..first_line_end];
    let semi = first_line.iter().filter(|&&b| b == b';').count();
    let comma = first_line.iter().filter(|&&b| b == b',').count();
    let delimiter = if semi >= comma { b';' } else { b',' };
    let encoding = if utf8 {
        encoding_rs::UTF_8
    } else {
        encoding_rs::WINDOWS_1251
    };
    // Every record is measured on the raw bytes before the CSV parser buffers it.
    let guarded = limits::RecordGuard::new(
        Cursor::new(head).chain(limited),
        delimiter,
        limits.max_row_bytes,
    );
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_sniffing(true)
        .build(guarded);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(decoded);
    // The input's own failures (the size limit, a record too long, a broken connection) end
    // the import; a record the parser cannot read is that row's problem.
    let csv_err = |row: u64, e: csv::Error| -> ImportError {
        let reason = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) if is_limit(&io) => ImportError::TooLarge(limits.max_bytes),
            csv::ErrorKind::Io(io) => match limits::record_limit(&io) {
                Some(hit) => hit.into(),
                None => ImportError::Io(io),
            },
            _ => ImportError::Csv { row, reason },
        }
    };
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| csv_err(1, e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = ContactRows::new(headers, limits)?;
    let mut record = csv::StringRecord::new();
    let mut row = 1u64;
    loop {
        row += 1;
        match csv.read_record(&mut record) {
            Ok(true) => rows.row(row, record.iter().enumerate(), &mut sink)?,
            Ok(false) => break,
            Err(e) => match csv_err(row, e) {
                e @ (ImportError::TooLarge(_) | ImportError::Limit(_) | ImportError::Io(_)) => {
                    return Err(e)
                }
                other => rows.reject(row, other.to_string())?,
            },
        }
    }
    Ok(rows.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> (ImportReport, Vec<ImportedContact>) {
        let mut got = Vec::new();
        let r = read_csv(bytes, ImportLimits::default(), |c| {
            got.push(c);
            true
        })
        .unwrap();
        (r, got)
    }

    #[test]
    fn good_rows_import_and_bad_values_are_reported_by_row() {
        let csv = "\u{feff}ФИО;Телефон;Тел. 2;Номер договора\n\
                   Иванов Иван;8 (912) 345-67-89;+7 495 123-45-67;1001\n\
                   Петров;+7 701 234 5678;;1002\n\
                   Сидорова;мусор;79161112233;1003\n\
                   ;;;\n\
                   Дубль;+79123456789;;1004\n";
        let (r, got) = run(csv.as_bytes());
        assert_eq!(r.imported, 2, "{r:?}");
        assert_eq!(r.duplicates, 1);
        assert_eq!(got[0].name.as_deref(), Some("Иванов Иван"));
        assert_eq!(
            got[0]
                .numbers
                .iter()
                .map(|n| n.e164.as_str())
                .collect::<Vec<_>>(),
            ["+79123456789", "+74951234567"]
        );
        assert_eq!(
            got[0].fields.get("Номер договора").map(String::as_str),
            Some("1001")
        );
        assert_eq!(got[1].row, 4);
        assert_eq!(got[1].numbers[0].e164, "+79161112233");
        let rows: Vec<(u64, &str)> = r
            .rejected
            .iter()
            .map(|p| (p.row, p.value.as_str()))
            .collect();
        assert_eq!(rows, [(3, "+7 701 234 5678"), (4, "мусор")]);
        assert!(r.rejected[0].reason.contains("Kazakhstan"));
    }

    #[test]
    fn windows_1251_and_commas_are_detected() {
        let text = "Имя,Phone,Город\nАнна,89161234567,Москва\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let (r, got) = run(&bytes);
        assert_eq!(r.imported, 1, "{r:?}");
        assert_eq!(got[0].name.as_deref(), Some("Анна"));
        assert_eq!(
            got[0].fields.get("Город").map(String::as_str),
            Some("Москва")
        );
    }

    #[test]
    fn a_file_without_a_phone_column_or_empty_is_refused_and_limits_hold() {
        let e = read_csv(&b"a;b\n1;2\n"[..], ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::NoPhoneColumn(_)), "{e}");
        let e = read_csv(&b"  \n"[..], ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::Empty));
        let big = "phone\n".to_string() + &"+79123456789\n".repeat(10_000);
        let e = read_csv(
            big.as_bytes(),
            ImportLimits {
                max_bytes: 50_000,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap_err();
        assert!(matches!(e, ImportError::TooLarge(50_000)), "{e}");
    }

    #[test]
    fn the_store_may_merge_a_contact_it_already_has() {
        let csv = "phone\n+79123456789\n+79123456780\n";
        let mut n = 0;
        let r = read_csv(csv.as_bytes(), ImportLimits::default(), |_| {
            n += 1;
            n == 1
        })
        .unwrap();
        assert_eq!((r.imported, r.duplicates), (1, 1));
    }

    /// Answers at most `n` bytes per read, as a network body may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn encoding_and_delimiter_are_detected_from_a_stream_read_in_small_pieces() {
        let text = "Имя,Phone,Город\nАнна,89161234567,Москва\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let mut got = Vec::new();
        let r = read_csv(Trickle(&bytes, 3), ImportLimits::default(), |c| {
            got.push(c);
            true
        })
        .unwrap();
        assert_eq!(r.imported, 1, "{r:?}");
        assert_eq!(got[0].name.as_deref(), Some("Анна"));
        assert_eq!(
            got[0].fields.get("Город").map(String::as_str),
            Some("Москва")
        );
    }

    #[test]
    fn an_input_error_is_not_taken_for_the_size_limit() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("connection reset"))
            }
        }
        let e = read_csv(Broken, ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::Io(_)), "{e}");
    }

    fn workbook(rows: &[[&str; 2]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn read_contacts_picks_the_reader_from_the_first_bytes() {
        let contacts = |bytes: &[u8]| {
            let mut got = Vec::new();
            let r = read_contacts(Trickle(bytes, 2), ImportLimits::default(), |c| {
                got.push(c);
                true
            });
            r.map(|r| {
                (
                    r.imported,
                    got.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                )
            })
        };
        let book = workbook(&[["Телефон", "Имя"], ["89161234567", "Анна"]]);
        assert_eq!(
            contacts(&book).unwrap(),
            (1, vec![Some("Анна".to_string())])
        );
        let csv = "Телефон;Имя\n89161234567;Анна\n";
        assert_eq!(
            contacts(csv.as_bytes()).unwrap(),
            (1, vec![Some("Анна".to_string())])
        );
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(csv);
        assert_eq!(
            contacts(&cp1251).unwrap(),
            (1, vec![Some("Анна".to_string())])
        );
        assert!(matches!(contacts(b""), Err(ImportError::Empty)));
        assert!(matches!(
            contacts(b"PK"),
            Err(ImportError::NoPhoneColumn(_))
        ));
        assert!(matches!(
            contacts(&book[..book.len() / 2]),
            Err(ImportError::Workbook(WorkbookProblem::Damaged(_)))
        ));
        let e = read_contacts(
            &book[..],
            ImportLimits {
                max_bytes: 100,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap_err();
        assert!(matches!(e, ImportError::TooLarge(100)), "{e}");
    }
    fn with(limits: ImportLimits, bytes: &[u8]) -> Result<ImportReport, ImportError> {
        read_contacts(bytes, limits, |_| true)
    }

    #[test]
    fn a_csv_record_longer_than_the_row_limit_is_refused_before_it_is_buffered() {
        let limits = ImportLimits {
            max_row_bytes: 1_000,
            ..Default::default()
        };
        // An unclosed quote makes the rest of the file one record.
        let csv = format!("phone;name\n+79123456789;\"{}", "a;b\n".repeat(10_000));
        let e = with(limits, csv.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                ImportError::Limit(LimitHit::RecordTooLong {
                    line: 2,
                    max: 1_000
                })
            ),
            "{e}"
        );
        assert!(e.to_string().contains("line 2"), "{e}");
        // A long line without quotes too.
        let csv = format!("phone\n{}\n", "7".repeat(2_000));
        assert!(matches!(
            with(limits, csv.as_bytes()),
            Err(ImportError::Limit(LimitHit::RecordTooLong { .. }))
        ));
        let csv = format!("phone;note\n+79123456789;{}\n", "a".repeat(900));
        assert_eq!(with(limits, csv.as_bytes()).unwrap().imported, 1);
    }

    #[test]
    fn the_rows_limit_holds_for_csv_and_spreadsheets() {
        let limits = ImportLimits {
            max_rows: 3,
            ..Default::default()
        };
        let csv = "phone\n89161234561\n89161234562\nмусор\n";
        assert_eq!(with(limits, csv.as_bytes()).unwrap().imported, 2);
        let csv = "phone\n89161234561\n89161234562\nмусор\n89161234564\n";
        let e = with(limits, csv.as_bytes()).unwrap_err();
        assert!(
            matches!(e, ImportError::Limit(LimitHit::TooManyRows(3))),
            "{e}"
        );
        let rows: Vec<[&str; 2]> = (0..5).map(|_| ["89161234561", "x"]).collect();
        let mut all = vec![["Телефон", "Имя"]];
        all.extend(rows);
        let e = with(limits, &workbook(&all)).unwrap_err();
        assert!(
            matches!(e, ImportError::Limit(LimitHit::TooManyRows(3))),
            "{e}"
        );
    }

    #[test]
    fn a_spreadsheet_row_is_bounded_in_text() {
        let limits = ImportLimits {
            max_row_bytes: 1_000,
            ..Default::default()
        };
        let long = "я".repeat(400);
        let book = workbook(&[
            ["Телефон", "Заметка"],
            ["89161234567", &long],
            [&long, &long],
        ]);
        let e = with(limits, &book).unwrap_err();
        assert!(
            matches!(
                e,
                ImportError::Limit(LimitHit::RowTooLong { row: 3, max: 1_000 })
            ),
            "{e}"
        );
    }

    #[test]
    fn the_answer_lists_the_first_problems_and_counts_them_all() {
        let mut csv = String::from("phone;priority\n");
        for i in 0..5_000 {
            csv.push_str(&format!("мусор {i} {};x\n", "ж".repeat(300)));
        }
        csv.push_str("89161234567;1\n");
        let r = with(ImportLimits::default(), csv.as_bytes()).unwrap();
        assert_eq!(r.imported, 1);
        assert_eq!(r.rejected.len(), 100);
        assert_eq!(r.rejected_total, 10_000);
        assert!(r.rejected_truncated);
        assert_eq!(r.rejected_by_reason["not_a_phone_number"], 5_000);
        assert_eq!(r.rejected_by_reason["bad_priority"], 5_000);
        assert!(r.rejected[0].value.chars().count() <= report::VALUE_CHARS + 1);
        assert!(r.notes[0].contains("first 100 of 10000"), "{:?}", r.notes);
        let answer = serde_json::to_string(&r).unwrap();
        assert!(answer.len() < 64 << 10, "{} bytes", answer.len());
    }

    #[test]
    fn a_number_in_scientific_notation_is_one_problem_saying_what_to_do() {
        let csv = "phone\n7,91612E+10\n7.91612E+10\n\"7,9E+10\"\n7.9161234567E+10\n\
                   \"89161234568, 7,91612E+10\"\n";
        let (r, got) = run(csv.as_bytes());
        let rows: Vec<(u64, &str, &str)> = r
            .rejected
            .iter()
            .map(|p| (p.row, p.value.as_str(), p.kind))
            .collect();
        assert_eq!(
            rows,
            [
                (2, "7,91612E+10", "scientific_notation"),
                (3, "7.91612E+10", "scientific_notation"),
                (4, "7,9E+10", "scientific_notation"),
                (6, "7,91612E+10", "scientific_notation"),
            ]
        );
        assert!(
            r.rejected[0].reason.contains("format"),
            "{}",
            r.rejected[0].reason
        );
        assert!(r.rejected[0].reason.contains("Text"));
        // All the digits still there: the number.
        assert_eq!(got[0].numbers[0].e164, "+79161234567");
        assert_eq!(got[1].numbers[0].e164, "+79161234568");
        assert_eq!(r.imported, 2);
    }

    #[test]
    fn an_extension_is_kept_in_a_field_and_noted() {
        let csv = "Телефон;Имя\n+7 (916) 123-45-68 доб. 123;Анна\n8 495 123-45-67 ext 45;Олег\n\
                   79161234569;Ира\n";
        let (r, got) = run(csv.as_bytes());
        assert_eq!((r.imported, r.rejected_total), (3, 0), "{r:?}");
        assert_eq!(got[0].numbers[0].e164, "+79161234568");
        assert_eq!(
            got[0].fields.get(EXTENSION_FIELD).map(String::as_str),
            Some("123")
        );
        assert_eq!(
            got[1].fields.get(EXTENSION_FIELD).map(String::as_str),
            Some("45")
        );
        assert!(!got[2].fields.contains_key(EXTENSION_FIELD));
        assert_eq!(r.extensions, 2);
        assert!(
            r.notes.iter().any(|n| n.contains("добавочный")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn toll_free_numbers_import_and_premium_ones_say_why_not() {
        let csv = "phone\n8-800-555-35-35\n8 (812) 123-45-67\n8-809-505-11-22\n";
        let (r, got) = run(csv.as_bytes());
        assert_eq!(got[0].numbers[0].e164, "+78005553535");
        assert_eq!(got[1].numbers[0].e164, "+78121234567");
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].kind, "premium_rate");
    }

    #[test]
    fn the_set_of_numbers_seen_is_compact() {
        assert_eq!(national("+79123456789"), Some(9_123_456_789));
        let csv = "phone\n+79123456789\n89123456789\n";
        let (r, _) = run(csv.as_bytes());
        assert_eq!((r.imported, r.duplicates), (1, 1));
    }

    #[test]
    fn a_broken_connection_midway_ends_the_import() {
        struct Cut(usize);
        impl Read for Cut {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("connection reset"));
                }
                let line = b"89161234567\n";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line[..n]);
                self.0 -= 1;
                Ok(n)
            }
        }
        let head = Cursor::new(b"phone\n".to_vec());
        let e = read_csv(head.chain(Cut(10_000)), ImportLimits::default(), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::Io(_)), "{e}");
    }
}
