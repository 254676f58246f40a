//! Report export (docs/api.md "Export CSV and XLSX"): pure writers the API streams calls, last
//! results and contacts into — a header row, then rows of `Cell`s. Owns the two file formats
//! only: which rows and columns a report has is the caller's business, and this never reads
//! the database.
//!
//! CSV: what Russian Excel opens as is — `;`-separated, UTF-8 with a BOM, CRLF line ends,
//! decimal commas — with RFC 4180 quoting, and text a spreadsheet would run as a formula
//! neutralised (CSV injection). XLSX: a bold, frozen header, column widths from the content,
//! text always as text (a phone number never turns into 7.9E+10), numbers as numbers.
use std::borrow::Cow;
use std::io::Write;

use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet};

/// One cell of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Any text, phone numbers included: never converted to a number.
    Text(String),
    Int(i64),
    /// Non-finite values are written as empty cells.
    Float(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(i: i64) -> Self {
        Cell::Int(i)
    }
}

impl From<f64> for Cell {
    fn from(f: f64) -> Self {
        Cell::Float(f)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("the header must be the first line of an export, and only one")]
    HeaderNotFirst,
    #[error("line {line} of the export has {got} cells where the first has {expected}")]
    RowWidth {
        line: u64,
        expected: usize,
        got: usize,
    },
    #[error(
        "the report has more rows than Excel's limit of {limit}: export CSV instead, or \
         narrow the report (one project, one result, fewer days)"
    )]
    TooManyRows { limit: u32 },
    #[error("the report has {got} columns, more than Excel's limit of {limit}")]
    TooManyColumns { got: usize, limit: u16 },
    #[error("building the XLSX file: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// What both writers do, so that a report is written once for either format.
pub trait RowWriter {
    /// Column names; if given, the first line, and only once.
    fn header(&mut self, names: &[&str]) -> Result<()>;
    /// One line; every line has as many cells as the first.
    fn row(&mut self, cells: &[Cell]) -> Result<()>;
}

/// Checks that every line has the first line's width, and that the header comes first.
#[derive(Debug, Default)]
struct Shape {
    width: Option<usize>,
    lines: u64,
}

impl Shape {
    fn line(&mut self, header: bool, got: usize) -> Result<()> {
        if header && self.lines > 0 {
            return Err(ExportError::HeaderNotFirst);
        }
        self.lines += 1;
        match self.width {
            Some(expected) if expected != got => Err(ExportError::RowWidth {
                line: self.lines,
                expected,
                got,
            }),
            _ => {
                self.width = Some(got);
                Ok(())
            }
        }
    }
}

/// The UTF-8 byte order mark: without it Excel reads a CSV as the ANSI code page (CP1251).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A streaming CSV writer: `;`, UTF-8 with BOM, CRLF, RFC 4180 quoting (a field holding `;`,
/// `"`, CR or LF is quoted, quotes doubled). Numbers are written as Russian Excel reads them:
/// `12,5`. Text that would start a formula gets a leading `'`: one starting with `=`, `@`, `|`,
/// tab or CR (or a fullwidth `＝` `＠` `｜`), or with `+`/`-` (`＋`/`－`) not followed by a plain
/// number — `+79123456789` and `-5` stay as they are, `=1+1` becomes `'=1+1`.
pub struct CsvExport<W: Write> {
    out: csv::Writer<W>,
    shape: Shape,
}

impl<W: Write> CsvExport<W> {
    /// Writes the BOM at once.
    pub fn new(mut out: W) -> Result<Self> {
        out.write_all(UTF8_BOM)?;
        let out = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .flexible(true)
            .from_writer(out);
        Ok(Self {
            out,
            shape: Shape::default(),
        })
    }

    pub fn header(&mut self, names: &[&str]) -> Result<()> {
        self.shape.line(true, names.len())?;
        self.write(names.iter().map(|n| neutralise(n)))
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<()> {
        self.shape.line(false, cells.len())?;
        self.write(cells.iter().map(csv_text))
    }

    /// Hands what is written so far to the output (the API streams an export page by page).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and answers the output.
    pub fn finish(self) -> Result<W> {
        self.out.into_inner().map_err(|e| e.into_error().into())
    }

    fn write<'a>(&mut self, fields: impl Iterator<Item = Cow<'a, str>>) -> Result<()> {
        self.out
            .write_record(fields.map(|f| match f {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }))
            .map_err(|e| std::io::Error::from(e).into())
    }
}

impl<W: Write> RowWriter for CsvExport<W> {
    fn header(&mut self, names: &[&str]) -> Result<()> {
        CsvExport::header(self, names)
    }
    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        CsvExport::row(self, cells)
    }
}

fn csv_text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(s) => neutralise(s),
        Cell::Int(i) => Cow::Owned(i.to_string()),
        // `Display` of an f64 never uses an exponent.
        Cell::Float(f) if f.is_finite() => Cow::Owned(f.to_string().replace('.', ",")),
        Cell::Float(_) | Cell::Empty => Cow::Borrowed(""),
    }
}

/// A leading `'` for text a spreadsheet would take for a formula (OWASP "CSV injection"):
/// a first character of `=`, `@`, `|` (DDE), tab or CR, or their fullwidth forms `＝` `＠` `｜`
/// (spreadsheets fold those to ASCII); `+`/`-` (and `＋`/`－`) only when not followed by a plain
/// number, so phone numbers and signed amounts stay as they are.
fn neutralise(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '|' | '\t' | '\r' | '＝' | '＠' | '｜') => true,
        Some('+' | '-' | '＋' | '－') => !is_plain_number(chars.as_str()),
        _ => false,
    };
    if risky {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Digits with at most one decimal point or comma inside: `79123456789`, `5`, `12,5`.
fn is_plain_number(s: &str) -> bool {
    let (whole, fraction) = s.split_once(['.', ',']).unwrap_or((s, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// Excel's rows per sheet, the header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;
/// Excel's columns per sheet.
pub const EXCEL_MAX_COLUMNS: u16 = 16_384;
/// Excel's characters per cell; longer text is cut there (the CSV export keeps it whole).
const EXCEL_MAX_CELL_CHARS: usize = 32_767;
/// Integers beyond ±2^53 lose digits as Excel's doubles: written as text instead.
const EXACT_INT_IN_F64: u64 = 1 << 53;
/// Column widths, in characters: from the longest value, within these bounds.
const MIN_COLUMN_WIDTH: usize = 8;
const MAX_COLUMN_WIDTH: usize = 60;

/// An XLSX writer: one sheet, built in memory and answered as the file's bytes by `finish`.
/// The header is bold and frozen; text cells are strings (never parsed as numbers or
/// formulas), integers use the number format `0` (no exponent however long), floats Excel's
/// general format. More than `EXCEL_MAX_ROWS` lines are refused at the first one too many.
pub struct XlsxExport {
    sheet: Worksheet,
    header_format: Format,
    int_format: Format,
    /// The longest text seen per column, in characters.
    widths: Vec<usize>,
    shape: Shape,
    has_header: bool,
    /// `EXCEL_MAX_ROWS`; tests lower it.
    max_rows: u32,
}

impl XlsxExport {
    /// `sheet_name` is cut to what Excel accepts (31 characters, none of `[]:*?/\`).
    pub fn new(sheet_name: &str) -> Result<Self> {
        let mut sheet = Worksheet::new();
        sheet.set_name(sheet_title(sheet_name))?;
        Ok(Self {
            sheet,
            header_format: Format::new().set_bold(),
            int_format: Format::new().set_num_format("0"),
            widths: Vec::new(),
            shape: Shape::default(),
            has_header: false,
            max_rows: EXCEL_MAX_ROWS,
        })
    }

    pub fn header(&mut self, names: &[&str]) -> Result<()> {
        let row = self.next_row(true, names.len())?;
        for (col, name) in names.iter().enumerate() {
            let col = col as ColNum;
            let name = excel_text(name);
            self.sheet
                .write_string_with_format(row, col, name.as_ref(), &self.header_format)?;
            // Bold text is a little wider.
            self.widen(col, name.chars().count() + 1);
        }
        self.has_header = true;
        Ok(())
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<()> {
        let row = self.next_row(false, cells.len())?;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as ColNum;
            match cell {
                Cell::Text(s) => {
                    let s = excel_text(s);
                    self.sheet.write_string(row, col, s.as_ref())?;
                    self.widen(col, s.chars().count());
                }
                Cell::Int(i) if i.unsigned_abs() <= EXACT_INT_IN_F64 => {
                    self.sheet
                        .write_number_with_format(row, col, *i as f64, &self.int_format)?;
                    self.widen(col, i.to_string().len());
                }
                Cell::Int(i) => {
                    let s = i.to_string();
                    self.sheet.write_string(row, col, &s)?;
                    self.widen(col, s.len());
                }
                Cell::Float(f) if f.is_finite() => {
                    self.sheet.write_number(row, col, *f)?;
                    self.widen(col, f.to_string().len().min(12));
                }
                Cell::Float(_) | Cell::Empty => {}
            }
        }
        Ok(())
    }

    /// The finished file.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        for (col, width) in self.widths.iter().enumerate() {
            let width = (width + 2).clamp(MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH);
            self.sheet.set_column_width(col as ColNum, width as f64)?;
        }
        if self.has_header {
            self.sheet.set_freeze_panes(1, 0)?;
        }
        let mut book = Workbook::new();
        book.push_worksheet(self.sheet);
        Ok(book.save_to_buffer()?)
    }

    /// The 0-based row the next line goes to, after the checks.
    fn next_row(&mut self, header: bool, width: usize) -> Result<RowNum> {
        if width > usize::from(EXCEL_MAX_COLUMNS) {
            return Err(ExportError::TooManyColumns {
                got: width,
                limit: EXCEL_MAX_COLUMNS,
            });
        }
        if self.shape.lines >= u64::from(self.max_rows) {
            return Err(ExportError::TooManyRows {
                limit: self.max_rows,
            });
        }
        let row = self.shape.lines as RowNum;
        self.shape.line(header, width)?;
        Ok(row)
    }

    fn widen(&mut self, col: ColNum, chars: usize) {
        let col = usize::from(col);
        if self.widths.len() <= col {
            self.widths.resize(col + 1, 0);
        }
        self.widths[col] = self.widths[col].max(chars);
    }
}

impl RowWriter for XlsxExport {
    fn header(&mut self, names: &[&str]) -> Result<()> {
        XlsxExport::header(self, names)
    }
    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        XlsxExport::row(self, cells)
    }
}

fn excel_text(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(EXCEL_MAX_CELL_CHARS) {
        Some((cut, _)) => Cow::Owned(s[..cut].to_string()),
        None => Cow::Borrowed(s),
    }
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, no `'` at the ends.
fn sheet_title(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim();
    if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        "Sheet1".to_string()
    } else {
        cleaned.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    fn report(out: &mut impl RowWriter) -> Result<()> {
        out.header(&[
            "Телефон",
            "Имя",
            "Стоимость",
            "Звонков",
            "Комментарий",
            "Итог",
        ])?;
        out.row(&[
            "+79123456789".into(),
            "Иванов; \"Ваня\"".into(),
            Cell::Float(12.5),
            Cell::Int(3),
            "=1+1".into(),
            Cell::Empty,
        ])?;
        out.row(&[
            "79161112233".into(),
            Cell::from(None::<String>),
            Cell::Float(0.04),
            Cell::Int(-2),
            "строка 1\r\nстрока 2".into(),
            "Хочу записаться".into(),
        ])
    }

    fn csv_bytes() -> Vec<u8> {
        let mut out = CsvExport::new(Vec::new()).unwrap();
        report(&mut out).unwrap();
        out.finish().unwrap()
    }

    #[test]
    fn csv_export_parses_back_to_the_same_cells() {
        let bytes = csv_bytes();
        assert!(bytes.starts_with(UTF8_BOM));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .from_reader(&bytes[UTF8_BOM.len()..]);
        let lines: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(
            lines,
            [
                vec![
                    "Телефон",
                    "Имя",
                    "Стоимость",
                    "Звонков",
                    "Комментарий",
                    "Итог"
                ],
                vec!["+79123456789", "Иванов; \"Ваня\"", "12,5", "3", "'=1+1", ""],
                vec![
                    "79161112233",
                    "",
                    "0,04",
                    "-2",
                    "строка 1\r\nстрока 2",
                    "Хочу записаться"
                ],
            ]
        );
    }

    #[test]
    fn csv_export_uses_crlf_and_quotes_separators_and_quotes() {
        let text = String::from_utf8(csv_bytes()).unwrap();
        assert!(text.starts_with("\u{feff}Телефон;Имя;"), "{text}");
        assert!(
            text.contains("+79123456789;\"Иванов; \"\"Ваня\"\"\";12,5;3;'=1+1;\r\n"),
            "{text}"
        );
        assert!(text.contains("\"строка 1\r\nстрока 2\""), "{text}");
        assert!(text.ends_with("Хочу записаться\r\n"), "{text}");
    }

    #[test]
    fn text_that_would_run_as_a_formula_is_neutralised_but_numbers_stay() {
        for (text, want) in [
            ("=1+1", "'=1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("-", "'-"),
            ("+79123456789", "+79123456789"),
            ("-5", "-5"),
            ("+12,5", "+12,5"),
            ("|x", "'|x"),
            ("|cmd '/C calc'!A0", "'|cmd '/C calc'!A0"),
            ("＝1", "'＝1"),
            ("＝HYPERLINK(\"http://x\")", "'＝HYPERLINK(\"http://x\")"),
            ("＠SUM(A1)", "'＠SUM(A1)"),
            ("｜x", "'｜x"),
            ("＋1+1", "'＋1+1"),
            ("－2+3", "'－2+3"),
            ("＋79123456789", "＋79123456789"),
            ("x|y", "x|y"),
            ("1+1", "1+1"),
            ("Иван", "Иван"),
            ("", ""),
        ] {
            assert_eq!(neutralise(text), want, "{text:?}");
        }
    }

    #[test]
    fn lines_must_match_the_first_and_the_header_comes_first() {
        let mut out = CsvExport::new(Vec::new()).unwrap();
        out.row(&[Cell::Int(1), Cell::Int(2)]).unwrap();
        let e = out.row(&[Cell::Int(1)]).unwrap_err();
        assert!(
            matches!(
                e,
                ExportError::RowWidth {
                    line: 2,
                    expected: 2,
                    got: 1
                }
            ),
            "{e}"
        );
        let e = out.header(&["a", "b"]).unwrap_err();
        assert!(matches!(e, ExportError::HeaderNotFirst), "{e}");
        let mut out = XlsxExport::new("Звонки").unwrap();
        out.header(&["a"]).unwrap();
        let e = out.row(&[Cell::Int(1), Cell::Int(2)]).unwrap_err();
        assert!(matches!(e, ExportError::RowWidth { .. }), "{e}");
    }

    fn read_back(bytes: Vec<u8>) -> (Vec<String>, Vec<Vec<Data>>) {
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let names = book.sheet_names();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        (names, range.rows().map(<[Data]>::to_vec).collect())
    }

    #[test]
    fn xlsx_export_reads_back_with_calamine_and_a_numeric_looking_phone_stays_text() {
        let mut out = XlsxExport::new("Звонки: май/июнь [2025]").unwrap();
        report(&mut out).unwrap();
        let (names, rows) = read_back(out.finish().unwrap());
        assert_eq!(names, ["Звонки_ май_июнь _2025_"]);
        let text = |s: &str| Data::String(s.to_string());
        assert_eq!(
            rows[0],
            [
                "Телефон",
                "Имя",
                "Стоимость",
                "Звонков",
                "Комментарий",
                "Итог"
            ]
            .map(text)
        );
        assert_eq!(
            rows[1],
            [
                text("+79123456789"),
                text("Иванов; \"Ваня\""),
                Data::Float(12.5),
                Data::Float(3.0),
                text("=1+1"),
                Data::Empty,
            ]
        );
        assert_eq!(rows[2][0], text("79161112233"));
        assert_eq!(rows[2][1], Data::Empty);
        assert_eq!(rows[2][3], Data::Float(-2.0));
    }

    #[test]
    fn xlsx_export_refuses_more_rows_than_excel_holds() {
        let mut out = XlsxExport::new("x").unwrap();
        out.max_rows = 3;
        out.header(&["n"]).unwrap();
        out.row(&[Cell::Int(1)]).unwrap();
        out.row(&[Cell::Int(2)]).unwrap();
        let e = out.row(&[Cell::Int(3)]).unwrap_err();
        assert!(matches!(e, ExportError::TooManyRows { limit: 3 }), "{e}");
        assert!(e.to_string().contains("export CSV"), "{e}");
        let (_, rows) = read_back(out.finish().unwrap());
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn huge_integers_and_overlong_text_survive_in_xlsx() {
        let mut out = XlsxExport::new("").unwrap();
        let long = "я".repeat(EXCEL_MAX_CELL_CHARS + 10);
        out.row(&[Cell::Int(i64::MIN), Cell::Text(long), Cell::Float(f64::NAN)])
            .unwrap();
        let (names, rows) = read_back(out.finish().unwrap());
        assert_eq!(names, ["Sheet1"]);
        assert_eq!(rows[0][0], Data::String(i64::MIN.to_string()));
        assert_eq!(rows[0][1].to_string().chars().count(), EXCEL_MAX_CELL_CHARS);
    }
}
