//! Contact import (docs/api.md, "Contacts"). This file owns what every format shares — the header's
//! columns (телефон/phone, имя/name, приоритет/priority by Russian or English names; every other
//! column is kept as a contact field), a row of cell texts → a contact or row problems, several
//! numbers per contact normalised to Russian E.164, an extension typed after a number kept in a
//! field, a number Excel saved in scientific notation reported once, duplicates within the file
//! merged, the rows limit — plus the CSV reader (UTF-8 with or without BOM or Windows-1251
//! detected from the bytes, `;` or `,` sniffed from the header line) and `read_contacts`, which
//! picks CSV or spreadsheet from the first bytes. The report and its caps live in `report`, the
//! limits and their messages in `limits`. Spreadsheets are read in `spreadsheet` and
//! handed to the same row handling; no format may grow its own copy of it. CSV streams: memory
//! stays bounded by one record (`ImportLimits::max_row_bytes`), the listed problems and the set
//! of numbers seen (`MAX_SEEN`).
use crate::phone::{normalize_ru, split_extension, NumberKind, RuNumber};
use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

mod limits;
mod report;

pub mod spreadsheet;
pub use limits::{ImportLimits, LimitHit, EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS};
pub use report::{ImportReport, RowProblem, EXTENSION_FIELD};
pub use spreadsheet::{read_xlsx, WorkbookProblem};

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

/// Where a reader's contacts go: `contact` answers whether the contact was new (false: merged
/// into one the store has). A sink may also take every problem as it is found (the report
/// lists only the first ones) and the figures after each row (an import's progress). Any
/// `FnMut(ImportedContact) -> bool` is a sink that wants neither.
pub trait ContactSink {
    fn contact(&mut self, c: ImportedContact) -> bool;
    /// Whether `problem` should get every problem (its reason is then written for each).
    fn wants_every_problem(&self) -> bool {
        false
    }
    /// A problem, in file order (only when `wants_every_problem`).
    fn problem(&mut self, _p: RowProblem) {}
    /// After each data row: rows read so far and the report as it stands.
    fn row_read(&mut self, _rows: u64, _report: &ImportReport) {}
}

impl<F: FnMut(ImportedContact) -> bool> ContactSink for F {
    fn contact(&mut self, c: ImportedContact) -> bool {
        self(c)
    }
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
    /// A phone column, and the type its header names (`Телефон рабочий`), if any.
    Phone(Option<NumberKind>),
    Name,
    Priority,
    /// The types of the numbers of the phone columns, in their order (`мобильный, рабочий`):
    /// our own contacts export writes it.
    Kinds,
    /// A column of our own export that is a report, not the contact (`Статус`, `Звонков`…).
    Ignored,
    Field(String),
}

/// The columns of our own exports (`report=contacts`, `report=last`) that describe the
/// contact's campaign, not the contact: an export imported back leaves them out, so a
/// contacts export of one status is a contacts file (docs/api.md, "Exports").
const EXPORT_REPORT_COLUMNS: &[&str] = &[
    "статус",
    "звонков",
    "последний звонок",
    "номер",
    "результат",
    "реакция",
    "данные",
    "стоимость, ₽",
];

/// Whether a header is our own contacts or last-results export's.
fn is_our_export(headers: &[String]) -> bool {
    let has = |h: &str| headers.iter().any(|x| x.trim().eq_ignore_ascii_case(h));
    has("Контакт") && has("Телефоны") && has("Статус") && has("Звонков")
}

fn classify_in(header: &str, ours: bool) -> Column {
    if ours {
        let h = header.trim().to_lowercase();
        if h == "типы номеров" {
            return Column::Kinds;
        }
        if EXPORT_REPORT_COLUMNS.contains(&h.as_str()) {
            return Column::Ignored;
        }
    }
    classify(header)
}

fn classify(header: &str) -> Column {
    let h = header.trim().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    // "номер" alone is a phone column; "номер договора" is not.
    let bare = h.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '.');
    if has(&["телефон", "phone", "мобильн", "mobile", "msisdn"])
        || matches!(bare, "тел" | "номер" | "tel")
    {
        Column::Phone(NumberKind::of_header(&h))
    } else if has(&["фио", "имя", "name", "клиент", "абонент"])
        || matches!(h.as_str(), "контакт" | "contact")
    {
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
    /// From the header's texts (trimmed); refuses a header without a phone column. With
    /// `every_problem`, each problem is also handed to the sink (`ContactSink::problem`).
    pub(super) fn new(
        headers: Vec<String>,
        limits: ImportLimits,
        every_problem: bool,
    ) -> Result<Self, ImportError> {
        let ours = is_our_export(&headers);
        let columns: Vec<Column> = headers.iter().map(|h| classify_in(h, ours)).collect();
        if !columns.iter().any(|c| matches!(c, Column::Phone(_))) {
            return Err(ImportError::NoPhoneColumn(headers));
        }
        Ok(Self {
            columns,
            seen: HashSet::new(),
            report: ImportReport {
                every: every_problem.then(Vec::new),
                ..ImportReport::default()
            },
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
    pub(super) fn reject(
        &mut self,
        row: u64,
        reason: String,
        sink: &mut impl ContactSink,
    ) -> Result<(), ImportError> {
        self.count_row()?;
        let listed = self.limits.max_listed_problems;
        self.report
            .problem(listed, row, "", "unreadable_row", || reason);
        self.hand_on(sink);
        Ok(())
    }

    /// Hands the row's problems and the figures so far to the sink.
    fn hand_on(&mut self, sink: &mut impl ContactSink) {
        if let Some(every) = self.report.every.as_mut() {
            for p in every.drain(..) {
                sink.problem(p);
            }
        }
        sink.row_read(self.rows, &self.report);
    }

    /// One data row: `(column index, trimmed text)` in column order; columns beyond the header
    /// are ignored, a row with no text at all is skipped without a word. The contact goes to
    /// `sink`, which answers whether it was new (false: merged into one the store has). Fails
    /// only past `max_rows`.
    pub(super) fn row<'a>(
        &mut self,
        row: u64,
        cells: impl IntoIterator<Item = (usize, &'a str)>,
        sink: &mut impl ContactSink,
    ) -> Result<(), ImportError> {
        self.count_row()?;
        self.read_row(row, cells, sink);
        self.hand_on(sink);
        Ok(())
    }

    fn read_row<'a>(
        &mut self,
        row: u64,
        cells: impl IntoIterator<Item = (usize, &'a str)>,
        sink: &mut impl ContactSink,
    ) {
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
        let mut kinds: Option<&str> = None;
        for (i, value) in cells {
            // Problems come only from non-empty values, so a blank row has reported nothing.
            blank &= value.is_empty();
            match self.columns.get(i) {
                Some(Column::Phone(_)) if SPREADSHEET_ERRORS.contains(&value) => {
                    // Kept whole: `#N/A` split at its `/` would be two meaningless problems.
                    any_number = true;
                    report.problem(listed, row, value, "spreadsheet_error", || {
                        "a spreadsheet error value, not a phone number: fix the formula or type \
                         the number"
                            .into()
                    });
                }
                Some(Column::Phone(kind)) => {
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
                            Ok(mut n) => {
                                if let Some(k) = kind {
                                    n.kind = *k;
                                }
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
                Some(Column::Kinds) if !value.is_empty() => kinds = Some(value),
                _ => {}
            }
        }
        // Our export's number types, one per number in order (`мобильный, рабочий`).
        if let Some(kinds) = kinds {
            for (n, k) in c.numbers.iter_mut().zip(kinds.split(',')) {
                if let Some(kind) = NumberKind::from_label_ru(k.trim()) {
                    n.kind = kind;
                }
            }
        }
        if blank {
            return;
        }
        if c.numbers.is_empty() {
            if dup_numbers > 0 {
                report.duplicates += 1;
            } else if !any_number {
                report.problem(listed, row, "", "no_phone_number", || {
                    "no phone number in this row".into()
                });
            }
            return;
        }
        if !extensions.is_empty() {
            report.extensions += extensions.len() as u64;
            // A column of the file with that name keeps its own value.
            c.fields
                .entry(EXTENSION_FIELD.to_string())
                .or_insert_with(|| extensions.join(", "));
        }
        if sink.contact(c) {
            report.imported += 1;
        } else {
            report.duplicates += 1;
        }
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
    sink: impl ContactSink,
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
    mut sink: impl ContactSink,
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
    let mut rows = ContactRows::new(headers, limits, sink.wants_every_problem())?;
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
                other => rows.reject(row, other.to_string(), &mut sink)?,
            },
        }
    }
    Ok(rows.finish())
}

#[cfg(test)]
mod tests;
