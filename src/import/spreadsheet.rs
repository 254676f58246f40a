//! Contact import from spreadsheets (docs/api.md "Import CSV and XLSX"): xlsx/xlsm, xlsb, xls and
//! ods, whatever calamine opens. Owns opening a workbook from bytes — telling a damaged file, a
//! zip that is no workbook and a password-protected one apart, never panicking on any of them —
//! walking the first visible worksheet row by row with the spreadsheet's own 1-based row numbers
//! (the first non-empty row is the header), and rendering cells to the text a user sees: a phone
//! number stored as the number 7.9123456789E10 becomes `79123456789`. Every row goes to the row
//! handling CSV uses (`import::ContactRows`); this file must never judge a value itself. calamine
//! runs under `catch_unwind`: a file that makes it panic is reported as damaged.
//!
//! Memory: the file is held whole (the formats need seeking), capped by
//! `ImportLimits::max_bytes` while reading; a zip package (xlsx, xlsb, ods) is checked by
//! `scan` against the limits on what it unpacks to and holds before calamine opens it; xlsx and
//! xlsb sheets are then streamed cell by cell, xls and ods sheets are read as one range by
//! calamine. One row's cells are bounded in number and text (`ImportLimits::max_row_bytes`).
use super::{
    read_all_limited, ContactRows, ContactSink, ImportError, ImportLimits, ImportReport, LimitHit,
    OLE_MAGIC, ZIP_MAGIC,
};
use calamine::{
    Cell, DataRef, DataType, ExcelDateTime, Ods, OdsError, Reader, SheetType, SheetVisible, Sheets,
    Xls, XlsError, Xlsb, XlsbError, Xlsx, XlsxError,
};
use std::fmt::Display;
use std::io::{Cursor, Read};
use std::panic::AssertUnwindSafe;

mod scan;

/// Why a spreadsheet cannot be opened; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkbookProblem {
    #[error(
        "the workbook is protected by a password: open it in Excel, remove the password \
         (File → Info → Protect Workbook → Encrypt with Password) and upload it again"
    )]
    Password,
    #[error(
        "the file is {0}, not a spreadsheet: upload an .xlsx, .xls, .xlsb, .ods or .csv file \
         (unpack a zipped one first)"
    )]
    NotASpreadsheet(&'static str),
    #[error(
        "the spreadsheet is damaged or incomplete ({0}): open it in Excel, save it again as \
         .xlsx or .csv and upload that"
    )]
    Damaged(String),
}

/// Excel's last column is XFD; cells said to lie further right are ignored.
const MAX_COLUMNS: u32 = 16_384;

/// The last day Excel shows as a date (9999-12-31); larger "dates" are shown as numbers.
const MAX_EXCEL_DATE: f64 = 2_958_466.0;

/// Significant digits Excel shows of a number: `=0.1+0.2` reads `0.3` there, so here too.
const EXCEL_DIGITS: usize = 15;

type Book<'a> = Sheets<Cursor<&'a [u8]>>;

/// A spreadsheet is read whole into memory (its format needs seeking), so it has its own
/// ceiling below the import limit: 256 MiB holds several million contacts in XLSX; larger
/// bases go in as CSV, which streams.
pub const MAX_SPREADSHEET_BYTES: u64 = 256 << 20;

/// A row's non-empty cells: `(0-based column, trimmed text)`, sorted by column.
type RowCells = Vec<(usize, String)>;

/// Reads contacts from the first visible worksheet of a spreadsheet (xlsx, xlsm, xlsb, xls, ods) with
/// the same semantics, report and `sink` contract as `read_csv`. Row numbers are those the
/// spreadsheet shows. Blocking: call it off the async runtime.
pub fn read_xlsx<R: Read>(
    input: R,
    limits: ImportLimits,
    mut sink: impl ContactSink,
) -> Result<ImportReport, ImportError> {
    let bytes = read_all_limited(input, limits.max_bytes.min(MAX_SPREADSHEET_BYTES))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        guard(|| scan::check_package(&bytes, &limits))??;
    }
    let mut book = open(&bytes)?;
    let mut rows: Option<ContactRows> = None;
    let mut row_text = RowText {
        max_bytes: limits.max_row_bytes,
        ..RowText::default()
    };
    each_row(&mut book, &mut row_text, &mut |row, cells| {
        let number = row + 1;
        if let Some(rows) = rows.as_mut() {
            rows.row(
                number,
                cells.iter().map(|(c, t)| (*c, t.as_str())),
                &mut sink,
            )?;
        } else {
            let width = cells.last().map_or(0, |(c, _)| c + 1);
            let mut headers = vec![String::new(); width];
            for (c, t) in cells.drain(..) {
                headers[c] = t;
            }
            rows = Some(ContactRows::new(
                headers,
                limits,
                sink.wants_every_problem(),
            )?);
        }
        Ok(())
    })?;
    rows.map(ContactRows::finish).ok_or(ImportError::Empty)
}

/// Runs a calamine call that may panic: its parsers index into records they have not checked
/// the length of in places, and a crafted file must not take the import (or its thread) down.
fn guard<T>(call: impl FnOnce() -> T) -> Result<T, WorkbookProblem> {
    // Unwind safety: after a panic the reader is dropped, never used again.
    std::panic::catch_unwind(AssertUnwindSafe(call))
        .map_err(|_| WorkbookProblem::Damaged("the spreadsheet reader failed on it".into()))
}

fn damaged(e: impl Display) -> ImportError {
    WorkbookProblem::Damaged(e.to_string()).into()
}

/// Opens a workbook of any format calamine knows, from its first bytes and what each format's
/// reader says (calamine's own auto-detection drops the reasons).
fn open(bytes: &[u8]) -> Result<Book<'_>, WorkbookProblem> {
    use WorkbookProblem::{Damaged, NotASpreadsheet, Password};
    let data = || Cursor::new(bytes);
    if bytes.starts_with(OLE_MAGIC) {
        // An old .xls, or an xlsx/xlsb encrypted with a password: its package then sits in an
        // "EncryptedPackage" stream, which the xlsx reader recognises.
        return match guard(|| Xls::new(data()))? {
            Ok(book) => Ok(Sheets::Xls(book)),
            Err(XlsError::Password) => Err(Password),
            Err(e) => match guard(|| Xlsx::new(data()))? {
                Err(XlsxError::Password) => Err(Password),
                _ => Err(Damaged(e.to_string())),
            },
        };
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(NotASpreadsheet("in no spreadsheet format"));
    }
    // A zip: each reader answers "file not found" for a package that is not its format.
    match guard(|| Xlsx::new(data()))? {
        Ok(book) => return Ok(Sheets::Xlsx(book)),
        Err(XlsxError::FileNotFound(_)) => {}
        Err(XlsxError::Password) => return Err(Password),
        Err(e) => return Err(Damaged(e.to_string())),
    }
    match guard(|| Xlsb::new(data()))? {
        Ok(book) => return Ok(Sheets::Xlsb(book)),
        Err(XlsbError::FileNotFound(_)) => {}
        Err(XlsbError::Password) => return Err(Password),
        Err(e) => return Err(Damaged(e.to_string())),
    }
    match guard(|| Ods::new(data()))? {
        Ok(book) => Ok(Sheets::Ods(book)),
        Err(OdsError::FileNotFound(_) | OdsError::InvalidMime(_)) => {
            Err(NotASpreadsheet("a zip archive"))
        }
        Err(OdsError::Password) => Err(Password),
        Err(e) => Err(Damaged(e.to_string())),
    }
}

/// Bounds one row's cells: at most Excel's columns, and `max_bytes` of text.
#[derive(Default)]
struct RowText {
    max_bytes: u64,
    bytes: u64,
}

impl RowText {
    /// A new row begins.
    fn clear(&mut self) {
        self.bytes = 0;
    }

    /// Adds a cell's text to row `row` (0-based) holding `cells` cells already.
    fn add(&mut self, row: u64, cells: usize, text: &str) -> Result<(), ImportError> {
        self.bytes += text.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(LimitHit::RowTooLong {
                row: row + 1,
                max: self.max_bytes,
            }
            .into());
        }
        if cells as u64 >= u64::from(MAX_COLUMNS) {
            return Err(LimitHit::TooManyCells(row + 1).into());
        }
        Ok(())
    }
}

/// Walks the first visible worksheet, calling `on_row` with each non-empty row's 0-based index and its
/// cells. A workbook without worksheets is empty.
fn each_row(
    book: &mut Book<'_>,
    row_text: &mut RowText,
    on_row: &mut impl FnMut(u64, &mut RowCells) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    // The first visible worksheet (hidden ones are helpers; charts hold no rows), else the first.
    let Some(first) = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .min_by_key(|s| s.visible != SheetVisible::Visible)
        .map(|s| s.name.clone())
    else {
        return Err(ImportError::Empty);
    };
    match book {
        Sheets::Xlsx(x) => {
            let mut cells = guard(|| x.worksheet_cells_reader(&first))?.map_err(damaged)?;
            stream(
                || guard(|| cells.next_cell())?.map_err(damaged),
                row_text,
                on_row,
            )
        }
        Sheets::Xlsb(x) => {
            let mut cells = guard(|| x.worksheet_cells_reader(&first))?.map_err(damaged)?;
            stream(
                || guard(|| cells.next_cell())?.map_err(damaged),
                row_text,
                on_row,
            )
        }
        Sheets::Xls(_) | Sheets::Ods(_) => {
            let range = guard(|| book.worksheet_range(&first))?.map_err(damaged)?;
            let Some((top, left)) = range.start() else {
                return Ok(());
            };
            let mut cells = RowCells::new();
            for (i, values) in range.rows().enumerate() {
                cells.clear();
                row_text.clear();
                let row = u64::from(top) + i as u64;
                for (j, value) in values.iter().enumerate() {
                    let text = render(value);
                    if !text.is_empty() {
                        row_text.add(row, cells.len(), &text)?;
                        cells.push((left as usize + j, text));
                    }
                }
                if !cells.is_empty() {
                    on_row(row, &mut cells)?;
                }
            }
            Ok(())
        }
    }
}

/// Groups a cell stream (row by row, as xlsx and xlsb store it) into rows.
fn stream<'a>(
    mut next: impl FnMut() -> Result<Option<Cell<DataRef<'a>>>, ImportError>,
    row_text: &mut RowText,
    on_row: &mut impl FnMut(u64, &mut RowCells) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut flush = |row: Option<u32>, cells: &mut RowCells| -> Result<(), ImportError> {
        if let Some(row) = row.filter(|_| !cells.is_empty()) {
            cells.sort_by_key(|(c, _)| *c);
            on_row(u64::from(row), cells)?;
        }
        cells.clear();
        Ok(())
    };
    let mut current = None;
    let mut cells = RowCells::new();
    while let Some(cell) = next()? {
        let (row, col) = cell.get_position();
        if current != Some(row) {
            flush(current, &mut cells)?;
            current = Some(row);
            row_text.clear();
        }
        if col < MAX_COLUMNS {
            let text = render(cell.get_value());
            if !text.is_empty() {
                row_text.add(u64::from(row), cells.len(), &text)?;
                cells.push((col as usize, text));
            }
        }
    }
    flush(current, &mut cells)
}

/// The text a user sees in a cell: strings trimmed, whole numbers without exponent or `.0`,
/// booleans `TRUE`/`FALSE`, dates `ДД.ММ.ГГГГ[ ЧЧ:ММ[:СС]]` as Russian Excel shows them (and a
/// CSV saved from it holds), error cells as their code (`#N/A`), which no column accepts as a
/// number.
fn render<T: DataType>(v: &T) -> String {
    if let Some(s) = v.get_string() {
        s.trim().to_string()
    } else if let Some(i) = v.get_int() {
        i.to_string()
    } else if let Some(f) = v.get_float() {
        render_number(f)
    } else if let Some(b) = v.get_bool() {
        (if b { "TRUE" } else { "FALSE" }).to_string()
    } else if let Some(d) = v.get_datetime() {
        render_datetime(&d)
    } else if let Some(s) = v.get_datetime_iso() {
        render_iso_datetime(s.trim())
    } else if let Some(s) = v.get_duration_iso() {
        s.trim().to_string()
    } else if let Some(e) = v.get_error() {
        e.to_string()
    } else {
        String::new()
    }
}

fn render_number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let shown: f64 = format!("{f:.*e}", EXCEL_DIGITS - 1).parse().unwrap_or(f);
    if shown.fract() == 0.0 && shown.abs() < 1e15 {
        // Also turns -0 into 0.
        (shown as i64).to_string()
    } else {
        // `Display` of an f64 never uses an exponent.
        shown.to_string()
    }
}

fn render_datetime(d: &ExcelDateTime) -> String {
    let value = d.as_f64();
    if d.is_duration() {
        let seconds = (value * 86_400.0).round();
        if !seconds.is_finite() || seconds.abs() > i64::MAX as f64 / 2.0 {
            return render_number(value);
        }
        let s = seconds as i64;
        let sign = if s < 0 { "-" } else { "" };
        let s = s.unsigned_abs();
        return format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    // calamine's conversion overflows outside Excel's own range of dates.
    if !(0.0..MAX_EXCEL_DATE).contains(&value) {
        return render_number(value);
    }
    let (year, month, day, hour, minute, second, _) = d.to_ymd_hms_milli();
    let time = if second == 0 {
        format!("{hour:02}:{minute:02}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    };
    let date = format!("{day:02}.{month:02}.{year:04}");
    if value < 1.0 {
        // A time of day: Excel keeps no date with it.
        time
    } else if (hour, minute, second) == (0, 0, 0) {
        date
    } else {
        format!("{date} {time}")
    }
}

/// ODS dates come as ISO 8601 (`2024-03-15` or `2024-03-15T10:30:00`): shown like xlsx dates.
fn render_iso_datetime(s: &str) -> String {
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let parts: Vec<&str> = date.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let [y, m, d] = parts[..] else {
        return s.to_string();
    };
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return s.to_string();
    }
    let date = format!("{d}.{m}.{y}");
    let time = time.split(['.', '+', 'Z']).next().unwrap_or("");
    match time {
        "" | "00:00:00" => date,
        t => format!("{date} {}", t.strip_suffix(":00").unwrap_or(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{read_csv, ImportedContact};
    use calamine::{CellErrorType, Data, ExcelDateTimeType};
    use rust_xlsxwriter::{Format, Formula, Workbook};

    type Got = (ImportReport, Vec<ImportedContact>);

    fn import(
        read: impl Fn(
            &[u8],
            ImportLimits,
            &mut dyn FnMut(ImportedContact) -> bool,
        ) -> Result<ImportReport, ImportError>,
        bytes: &[u8],
    ) -> Result<Got, ImportError> {
        let mut got = Vec::new();
        let r = read(bytes, ImportLimits::default(), &mut |c| {
            got.push(c);
            true
        })?;
        Ok((r, got))
    }

    fn xlsx(bytes: &[u8]) -> Result<Got, ImportError> {
        import(|b, l, s| read_xlsx(b, l, s), bytes)
    }

    fn csv(text: &str) -> Got {
        import(|b, l, s| read_csv(b, l, s), text.as_bytes()).unwrap()
    }

    /// The workbook a user would make of `CSV` below, cells typed as Excel types them.
    fn contacts_workbook() -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let date = Format::new().set_num_format("dd.mm.yyyy");
        for (col, h) in ["ФИО", "Телефон", "Тел. 2", "Номер договора", "Дата"]
            .into_iter()
            .enumerate()
        {
            sheet.write_string(0, col as u16, h).unwrap();
        }
        // Row 2: a numeric phone cell (Excel shows 7.91235E+10) and a text one.
        sheet.write_string(1, 0, "Иванов Иван").unwrap();
        sheet.write_number(1, 1, 79123456789.0).unwrap();
        sheet.write_string(1, 2, "+7 495 123-45-67").unwrap();
        sheet.write_number(1, 3, 1001).unwrap();
        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 15).unwrap();
        sheet.write_datetime_with_format(1, 4, &d, &date).unwrap();
        // Row 3: a Kazakh number, refused.
        sheet.write_string(2, 0, "Петров").unwrap();
        sheet.write_string(2, 1, " +7 701 234 5678 ").unwrap();
        sheet.write_number(2, 3, 1002).unwrap();
        // Row 4: garbage, and a good number in the second column.
        sheet.write_string(3, 0, "Сидорова").unwrap();
        sheet.write_string(3, 1, "мусор").unwrap();
        sheet.write_number(3, 2, 79161112233.0).unwrap();
        sheet.write_number(3, 3, 1003).unwrap();
        // Row 5 is empty. Row 6 repeats row 2's number: merged.
        sheet.write_string(5, 0, "Дубль").unwrap();
        sheet.write_string(5, 1, "+79123456789").unwrap();
        sheet.write_number(5, 3, 1004).unwrap();
        // Row 7: two numbers in one cell.
        sheet.write_string(6, 0, "Два номера").unwrap();
        sheet
            .write_string(6, 1, "89161234567, 8 926 123-45-67")
            .unwrap();
        sheet.write_number(6, 3, 1005).unwrap();
        // Row 8: an error cell (=NA()) in the phone column.
        sheet.write_string(7, 0, "Ошибка").unwrap();
        sheet
            .write_formula(7, 1, Formula::new("=NA()").set_result("#N/A"))
            .unwrap();
        sheet.write_number(7, 3, 1006).unwrap();
        book.save_to_buffer().unwrap()
    }

    const CSV: &str = "ФИО;Телефон;Тел. 2;Номер договора;Дата\n\
                       Иванов Иван;79123456789;+7 495 123-45-67;1001;15.03.2024\n\
                       Петров;+7 701 234 5678;;1002;\n\
                       Сидорова;мусор;79161112233;1003;\n\
                       ;;;;\n\
                       Дубль;+79123456789;;1004;\n\
                       Два номера;89161234567, 8 926 123-45-67;;1005;\n\
                       Ошибка;#N/A;;1006;\n";

    #[test]
    fn a_workbook_imports_exactly_like_the_same_csv() {
        let (report, got) = xlsx(&contacts_workbook()).unwrap();
        assert_eq!((report.clone(), got.clone()), csv(CSV));
        assert_eq!((report.imported, report.duplicates), (3, 1), "{report:?}");
        let numbers = |c: &ImportedContact| -> Vec<String> {
            c.numbers.iter().map(|n| n.e164.clone()).collect()
        };
        assert_eq!(numbers(&got[0]), ["+79123456789", "+74951234567"]);
        assert_eq!(
            got[0].fields.get("Номер договора").map(String::as_str),
            Some("1001")
        );
        assert_eq!(
            got[0].fields.get("Дата").map(String::as_str),
            Some("15.03.2024")
        );
        assert_eq!(
            (got[1].row, numbers(&got[1])),
            (4, vec!["+79161112233".to_string()])
        );
        assert_eq!(
            (got[2].row, numbers(&got[2])),
            (
                7,
                vec!["+79161234567".to_string(), "+79261234567".to_string()]
            )
        );
        let rejected: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|p| (p.row, p.value.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [(3, "+7 701 234 5678"), (4, "мусор"), (8, "#N/A")]
        );
        assert!(report.rejected[0].reason.contains("Kazakhstan"));
        assert!(report.rejected[2].reason.contains("spreadsheet error"));
    }

    #[test]
    fn the_first_non_empty_row_is_the_header_and_rows_keep_their_numbers() {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(2, 1, "Телефон").unwrap();
        sheet.write_string(2, 2, "Приоритет").unwrap();
        sheet.write_number(3, 1, 9123456789.0).unwrap();
        sheet.write_number(3, 2, 5).unwrap();
        sheet.write_string(4, 2, "7").unwrap();
        let (report, got) = xlsx(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].row, got[0].priority), (4, 5));
        assert_eq!(got[0].numbers[0].e164, "+79123456789");
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].row, 5);
        assert!(report.rejected[0].reason.contains("no phone"));
    }

    #[test]
    fn the_first_visible_worksheet_is_read() {
        let mut book = Workbook::new();
        let hidden = book.add_worksheet();
        hidden.write_string(0, 0, "Справочник").unwrap();
        hidden.set_hidden(true);
        // Excel never hides the active sheet.
        let sheet = book.add_worksheet().set_active(true);
        sheet.write_string(0, 0, "Телефон").unwrap();
        sheet.write_string(1, 0, "89161234567").unwrap();
        book.add_worksheet().write_string(0, 0, "Телефон").unwrap();
        let (report, got) = xlsx(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!((report.imported, got[0].row), (1, 2));
    }

    #[test]
    fn an_empty_workbook_or_one_without_a_phone_column_is_refused() {
        let mut book = Workbook::new();
        book.add_worksheet();
        let e = xlsx(&book.save_to_buffer().unwrap()).unwrap_err();
        assert!(matches!(e, ImportError::Empty), "{e}");
        let e = xlsx(b"").unwrap_err();
        assert!(matches!(e, ImportError::Empty), "{e}");
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Город").unwrap();
        sheet.write_string(1, 0, "Москва").unwrap();
        let e = xlsx(&book.save_to_buffer().unwrap()).unwrap_err();
        assert!(matches!(e, ImportError::NoPhoneColumn(_)), "{e}");
    }

    fn problem(bytes: &[u8]) -> WorkbookProblem {
        match xlsx(bytes) {
            Err(ImportError::Workbook(p)) => p,
            other => panic!("not a workbook problem: {other:?}"),
        }
    }

    #[test]
    fn a_truncated_or_garbage_workbook_is_refused_with_what_to_do() {
        let good = contacts_workbook();
        for cut in [good.len() / 2, good.len() - 10, 30] {
            let p = problem(&good[..cut]);
            assert!(
                matches!(p, WorkbookProblem::Damaged(_)),
                "cut at {cut}: {p}"
            );
            assert!(p.to_string().contains("save it again"), "{p}");
        }
        let mut garbage = ZIP_MAGIC.to_vec();
        garbage.extend((0..2000u32).map(|i| (i * 7919 % 251) as u8));
        assert!(matches!(problem(&garbage), WorkbookProblem::Damaged(_)));
        let mut ole = OLE_MAGIC.to_vec();
        ole.extend([0u8; 600]);
        assert!(matches!(problem(&ole), WorkbookProblem::Damaged(_)));
        let p = problem(b"\x00\x01 not a spreadsheet at all");
        assert_eq!(
            p,
            WorkbookProblem::NotASpreadsheet("in no spreadsheet format")
        );
    }

    #[test]
    fn cut_or_corrupted_workbooks_never_panic() {
        let good = contacts_workbook();
        for cut in (0..good.len()).step_by(97) {
            let _ = xlsx(&good[..cut]);
        }
        let mut seed = 0x2545_f491_u64;
        for _ in 0..300 {
            let mut bad = good.clone();
            for _ in 0..4 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (seed >> 33) as usize % bad.len();
                bad[at] ^= (seed >> 13) as u8 | 1;
            }
            if let Err(e) = xlsx(&bad) {
                assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn a_zip_that_is_not_a_workbook_says_so() {
        let p = problem(&stored_zip("contacts.csv", b"phone\n+79123456789\n"));
        assert_eq!(p, WorkbookProblem::NotASpreadsheet("a zip archive"));
        assert!(p.to_string().contains("unpack"), "{p}");
    }

    #[test]
    fn the_size_limit_holds_while_reading() {
        let bytes = contacts_workbook();
        let n = bytes.len() as u64;
        let limits = |max_bytes| ImportLimits {
            max_bytes,
            ..Default::default()
        };
        let e = read_xlsx(&bytes[..], limits(n - 1), |_| true).unwrap_err();
        assert!(matches!(e, ImportError::TooLarge(m) if m == n - 1), "{e}");
        let r = read_xlsx(&bytes[..], limits(n), |_| true).unwrap();
        assert_eq!(r.imported, 3);
    }

    #[test]
    fn cells_render_as_the_user_sees_them() {
        let date =
            |v: f64| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        let cases = [
            (Data::Float(7.9123456789e10), "79123456789"),
            (Data::Float(89123456789.0), "89123456789"),
            (Data::Float(0.1 + 0.2), "0.3"),
            (Data::Float(12.5), "12.5"),
            (Data::Float(-0.0), "0"),
            (Data::Float(1e20), "100000000000000000000"),
            (Data::Int(42), "42"),
            (Data::String("  Иван \t".into()), "Иван"),
            (Data::Bool(true), "TRUE"),
            (date(45366.0), "15.03.2024"),
            (date(45366.5), "15.03.2024 12:00"),
            (date(0.75), "18:00"),
            (date(3e6), "3000000"),
            (
                Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false)),
                "36:00:00",
            ),
            (Data::DateTimeIso("2024-03-15".into()), "15.03.2024"),
            (
                Data::DateTimeIso("2024-03-15T10:30:00".into()),
                "15.03.2024 10:30",
            ),
            (Data::Error(CellErrorType::NA), "#N/A"),
            (Data::Empty, ""),
        ];
        for (cell, want) in cases {
            assert_eq!(render(&cell), want, "{cell:?}");
        }
    }

    /// A zip archive of one stored (uncompressed) file.
    fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
        let crc = crc32(data);
        let (n, len) = (name.len() as u16, data.len() as u32);
        let mut z = Vec::new();
        z.extend(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend(crc.to_le_bytes());
        z.extend(len.to_le_bytes());
        z.extend(len.to_le_bytes());
        z.extend(n.to_le_bytes());
        z.extend(0u16.to_le_bytes());
        z.extend(name.as_bytes());
        z.extend(data);
        let central = z.len() as u32;
        z.extend(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend(crc.to_le_bytes());
        z.extend(len.to_le_bytes());
        z.extend(len.to_le_bytes());
        z.extend(n.to_le_bytes());
        z.extend([0u8; 12]); // extra, comment, disk, internal and external attributes
        z.extend(0u32.to_le_bytes()); // the local header's offset
        z.extend(name.as_bytes());
        let central_len = z.len() as u32 - central;
        z.extend(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        z.extend(central_len.to_le_bytes());
        z.extend(central.to_le_bytes());
        z.extend(0u16.to_le_bytes());
        z
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
